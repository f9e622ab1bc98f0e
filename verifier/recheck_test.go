package verifier

import (
	"crypto/x509"
	"testing"
)

// TestRecheck: Recheck finds what Verify finds before asking a notary (a cached
// verdict, a pin), asks no notary and reports no event; a cache cleared, a notary
// revoked or a pin removed makes it false, as does a certificate never judged.
func TestRecheck(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{})
	n := e.add("one", modeHonest)
	site := Target{Host: "site.example", Port: 443}
	recheck := func(c *x509.Certificate) bool { return e.v.Recheck(e.ctx, site, []*x509.Certificate{c}) }

	if recheck(e.real) {
		t.Fatal("Recheck trusted a certificate never judged")
	}
	if vd := e.verify(e.real); !vd.Allowed() {
		t.Fatalf("Verify: %+v", vd)
	}
	asked := e.totalRequests()
	e.mu.Lock()
	events := len(e.events)
	e.mu.Unlock()
	if !recheck(e.real) {
		t.Fatal("Recheck did not find the cached verdict")
	}
	if recheck(e.fake) {
		t.Error("Recheck trusted another certificate for the site")
	}
	if !e.v.Recheck(e.ctx, Target{Host: "SITE.example.", Port: 443}, []*x509.Certificate{e.real}) {
		t.Error("Recheck did not normalise the name as Verify does")
	}
	e.mu.Lock()
	later := len(e.events)
	e.mu.Unlock()
	if e.totalRequests() != asked || later != events {
		t.Errorf("Recheck asked notaries (%d → %d requests) or reported events (%d → %d)", asked, e.totalRequests(), events, later)
	}

	if _, err := e.v.ClearCache(e.ctx); err != nil {
		t.Fatal(err)
	}
	if recheck(e.real) {
		t.Error("Recheck still trusts after the cache was cleared")
	}
	e.verify(e.real)
	if _, err := e.v.Revoke(e.ctx, n.name); err != nil {
		t.Fatal(err)
	}
	if recheck(e.real) {
		t.Error("Recheck still trusts after the only vouching notary was revoked")
	}

	fp := FingerprintSHA256(e.fake)
	if err := e.v.Pin(e.ctx, site, fp, "test"); err != nil {
		t.Fatal(err)
	}
	if !recheck(e.fake) {
		t.Error("Recheck does not trust a pinned certificate")
	}
	if err := e.v.Unpin(e.ctx, site, fp); err != nil {
		t.Fatal(err)
	}
	if recheck(e.fake) {
		t.Error("Recheck still trusts a certificate after its pin was removed")
	}
}
