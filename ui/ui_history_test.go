package ui

import (
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// TestWithoutLive: an event both read from the history at the first Show and received
// live meanwhile is listed once (the demo's Activity showed each verdict twice: its
// visits ran while the history was read).
func TestWithoutLive(t *testing.T) {
	at := time.Unix(1764000000, 123456789)
	ev := func(kind verifier.EventKind, host string, tm time.Time) verifier.Event {
		return verifier.Event{Kind: kind, Time: tm, Verdict: verifier.Verdict{Target: verifier.Target{Host: host, Port: 443}}}
	}
	older := ev(verifier.EventVerified, "old.test", at.Add(-time.Hour))
	both := ev(verifier.EventRejected, "shop.test", at)
	// The store keeps the time to the nanosecond or less: the copy read back matches.
	readBack := both
	readBack.Time = at.Truncate(time.Millisecond)
	got := withoutLive([]verifier.Event{older, readBack}, []verifier.Event{both, ev(verifier.EventVerified, "new.test", at)})
	if len(got) != 1 || got[0].Verdict.Target.Host != "old.test" {
		t.Errorf("withoutLive = %v, want only the older event", got)
	}
	if got := withoutLive([]verifier.Event{older}, nil); len(got) != 1 {
		t.Errorf("withoutLive with nothing live = %v, want the history as it is", got)
	}
}
