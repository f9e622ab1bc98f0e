package verifier

import (
	"context"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// pinReason says why a pinned certificate was trusted, with the pin's terms.
func pinReason(p settings.Pin) string {
	switch {
	case !p.Expires.IsZero():
		return "you trust this certificate for this site until " + p.Expires.Format("2 Jan 15:04")
	case p.UntilChange:
		return "you trust this certificate for this site until it changes"
	}
	return "you trust this certificate for this site"
}

// endChangedPins removes, in the background, the pins for t that were to hold until
// the site changed its certificate: it shows fp now, another one. The verdict's path
// does not wait for the disk (the check goes on as if there were no pin); Close waits
// for the removal and does not cancel it (a pin the site's change ended must not
// outlive a quit), which the 10-second bound keeps short; one runs per site at a time.
func (v *Verifier) endChangedPins(t Target, fp string) {
	key := siteKey{t.Host, t.Port}
	if _, busy := v.ending.LoadOrStore(key, true); busy {
		return
	}
	if !v.begin() {
		v.ending.Delete(key)
		return
	}
	go func() { // ends when the removal and the reload end, within 10 seconds
		defer v.wg.Done()
		defer v.ending.Delete(key)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(v.ctx), 10*time.Second)
		defer cancel()
		n, err := v.store.DeletePinsChangedFrom(ctx, t.Host, t.Port, fp)
		if err != nil {
			v.log.Warn("failed to end the pins of a site whose certificate changed", "site", t.String(), "err", err)
			return
		}
		if n > 0 {
			v.log.Info("the site changed its certificate: the pins trusted until then ended", "site", t.String(), "pins", n)
			if err := v.Reload(ctx); err != nil {
				v.log.Warn("failed to reload after ending pins", "err", err)
			}
		}
	}()
}
