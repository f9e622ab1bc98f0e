package verifier

import (
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// TestPinTerms: a pin for a time holds until then and not after; a pin until the site
// changes its certificate holds while the site shows it and ends, in the store, once
// the site shows another one; a pin for good survives the same change.
func TestPinTerms(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.CacheTTL = 0 })
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e.start(Config{now: clock})
	e.add("a", modeHonest)
	site := Target{Host: "site.example", Port: 443}
	fake := FingerprintSHA256(e.fake)

	if err := e.v.PinFor(e.ctx, site, fake, "for a day", PinTerms{Until: clock().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	vd := e.verify(e.fake)
	wantOutcome(t, vd, OutcomeTrusted, SourcePin)
	if want := "you trust this certificate for this site until " + clock().Add(24*time.Hour).Format("2 Jan 15:04"); vd.Reason != want {
		t.Errorf("reason %q, want %q", vd.Reason, want)
	}
	chain := []*x509.Certificate{e.fake}
	if !e.v.Recheck(e.ctx, site, chain) {
		t.Error("a connection kept open under the day pin is not trusted on recheck")
	}
	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	if e.v.Recheck(e.ctx, site, chain) {
		t.Error("a connection kept open under a pin that ended is still trusted on recheck")
	}
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)
	mu.Lock()
	now = time.Now() // back to the notaries' time, which checks answers for skew
	mu.Unlock()

	// Until it changes: the real certificate (another one) ends it.
	if err := e.v.PinFor(e.ctx, site, fake, "until it changes", PinTerms{UntilChange: true}); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourcePin)
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourcePin)
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	e.v.Close() // waits for the removal the change started
	if pinned, err := e.store.Pinned(e.ctx, "site.example", 443, fake); err != nil || pinned {
		t.Fatalf("the until-change pin is still stored after the site changed: %v, %v", pinned, err)
	}

	// For good: the same change leaves it.
	e.start(Config{now: clock})
	if err := e.v.Pin(e.ctx, site, fake, "always"); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	e.v.Close()
	if pinned, err := e.store.Pinned(e.ctx, "site.example", 443, fake); err != nil || !pinned {
		t.Fatalf("a pin for good ended when the site changed: %v, %v", pinned, err)
	}
}
