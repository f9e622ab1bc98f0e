package core

import (
	"context"
	"fmt"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/verifier"
)

// BrowserCheck is what the proxy has seen of the browsers that come through it, for
// the Setup tab: whether one loaded the check page with the local authority trusted,
// and how many refused the authority's certificates.
type BrowserCheck struct {
	// TrustedAt is when a browser last loaded the check page over HTTPS: it goes
	// through Convergence and trusts its local authority. Zero: none has yet.
	TrustedAt time.Time
	// TrustedBrowser is that browser's User-Agent.
	TrustedBrowser string
	// Untrusted counts the connections whose client refused a certificate of the local
	// authority (a TLS certificate alert): it comes through, but does not trust it.
	Untrusted int
	// UntrustedAt and UntrustedHost are the last such refusal's time and site.
	UntrustedAt   time.Time
	UntrustedHost string
}

// AllSet reports whether a browser has come through with the authority trusted, and
// none has refused it since: the one state in which Setup may say "all set".
func (b BrowserCheck) AllSet() bool {
	return !b.TrustedAt.IsZero() && !b.UntrustedAt.After(b.TrustedAt)
}

// untrustedQuiet is how long after telling the listeners of a refusal of the local
// authority the next ones are only counted: a browser that does not trust it refuses
// every site it opens, and each would rebuild the tray and the Setup tab.
const untrustedQuiet = 5 * time.Second

// noteCheck is the proxy's hook (localproxy.Pages.OnCheck).
func (c *Core) noteCheck(v localproxy.CheckVisit) {
	c.mu.Lock()
	tell := true
	if v.Trusted {
		c.browser.TrustedAt, c.browser.TrustedBrowser = v.Time, v.UserAgent
	} else {
		// Told when it is the first refusal since a trusted visit, or the last told is old.
		tell = !c.browser.UntrustedAt.After(c.browser.TrustedAt) || v.Time.Sub(c.untrustedTold) >= untrustedQuiet
		c.browser.Untrusted++
		c.browser.UntrustedAt, c.browser.UntrustedHost = v.Time, v.Host
		if tell {
			c.untrustedTold = v.Time
		}
	}
	c.mu.Unlock()
	if tell {
		c.statusChanged()
	}
}

// Allowances returns the destinations let through unchecked for now (from the block
// page, or a captive portal's sign-in page), soonest to end first.
func (c *Core) Allowances() []verifier.Allowance { return c.Verifier.Allowances() }

// EndAllowance ends an allowance before its time.
func (c *Core) EndAllowance(host string, port int) error {
	if !c.Verifier.Disallow(host, port) {
		return fmt.Errorf("failed to end the allowance for %q: there is none (it may have ended already)", verifier.Allowance{Host: host, Port: port}.String())
	}
	c.log.Info("allowance ended by the user", "host", host, "port", port)
	c.statusChanged()
	return nil
}

// allow is the proxy's hook for the block page's ways out (localproxy.Pages.Allow).
func (c *Core) allow(host string, port int, d time.Duration, why string) error {
	a, err := c.Verifier.Allow(host, port, d, why)
	if err != nil {
		return err
	}
	c.log.Warn("let through unchecked for a while", "destination", a.String(), "until", a.Until.Format(time.RFC3339), "why", a.Why)
	c.statusChanged()
	return nil
}

// pages are the proxy's hooks for the pages it serves itself.
func (c *Core) pages() localproxy.Pages {
	return localproxy.Pages{OnCheck: c.noteCheck, Allow: c.allow, Portal: c.portalFor, Passthrough: c.passthroughFromPage}
}

// notePortalAfter probes for a captive portal after a verdict that found the notaries
// unreachable, off the verdict's path, so that the tray and a notification can say
// so; one probe at a time, reused for 30 s (CheckPortal).
func (c *Core) notePortalAfter(ev verifier.Event) {
	if ev.Verdict.Code != verifier.ReasonUnreachable || (ev.Kind != verifier.EventRejected && ev.Kind != verifier.EventVerified) {
		return
	}
	if !c.portal.busy.CompareAndSwap(false, true) {
		return // one is on its way: an outage blocks many sites at once
	}
	ctx, done, ok := c.background(context.Background())
	if !ok {
		c.portal.busy.Store(false)
		return
	}
	go func() { // ends when the probe does (portalProbeTimeout), or at Close
		defer done()
		defer c.portal.busy.Store(false)
		c.CheckPortal(ctx)
	}()
}

// OpenPortal lets the captive portal's sign-in host through unchecked for
// localproxy.AllowFor and returns its sign-in page's URL, for the window's "Open the
// sign-in page". It fails when no portal was found.
func (c *Core) OpenPortal(ctx context.Context) (string, error) {
	st := c.PortalState()
	if st.Portal == nil {
		return "", fmt.Errorf("failed to open the sign-in page: no captive portal was found (the network may not need a sign-in); try the site again")
	}
	if err := c.allow(st.Portal.Host, 0, localproxy.AllowFor, "captive portal sign-in page, passed unchecked"); err != nil {
		return "", fmt.Errorf("failed to open the sign-in page: %w", err)
	}
	return st.Portal.SignInURL, nil
}
