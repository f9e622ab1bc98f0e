package verifier

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// TestStricterPolicyDuringCheckIsNotCached: a check that started under the old rule
// and ends after the user made the rule stricter must not leave its verdict in the
// cache, or the next visit is let through by a rule the user no longer has.
func TestStricterPolicyDuringCheckIsNotCached(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.Threshold = settings.ThresholdAll; s.CacheTTL = time.Hour })
	e.start(Config{RefreshInterval: time.Hour})
	gate := e.add("gate", modeHung)
	e.addSeeing("young", modeHonest, e.real, time.Now().Add(-time.Hour))

	done := make(chan Verdict, 1)
	go func() {
		vd, err := e.v.Verify(e.ctx, Target{Host: "site.example", Port: 443}, []*x509.Certificate{e.real})
		if err != nil {
			t.Error(err)
		}
		done <- vd
	}()
	select {
	case <-gate.entered:
	case <-e.ctx.Done():
		t.Fatal("the gate notary was never asked")
	}
	// While the check is held open, the user asks for a week of history.
	s, err := e.store.Settings(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.MinAgreeAge = 7 * 24 * time.Hour
	if err := e.store.SaveSettings(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Reload(e.ctx); err != nil {
		t.Fatal(err)
	}
	gate.releaseAll()
	wantOutcome(t, <-done, OutcomeTrusted, SourceNotaries) // judged under the old rule

	// Under the new rule the young notary's word is not enough.
	wantOutcome(t, e.verify(e.real), OutcomeRejected, SourceNotaries)
}
