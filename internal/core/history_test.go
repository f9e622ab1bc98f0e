package core

import (
	"context"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// openHistoryCore opens a core without CA on a fresh data dir, closed at the test's end.
func openHistoryCore(t *testing.T) (context.Context, *Core) {
	t.Helper()
	ctx := context.Background()
	c, err := Open(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NoCA: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ctx, c
}

// TestHistoryRoundTrip: what publish writes to the history comes back from History,
// oldest first, with the verdict's evidence; verified cache hits are not written.
func TestHistoryRoundTrip(t *testing.T) {
	ctx, c := openHistoryCore(t)
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	rejected := verifier.Verdict{
		Target: verifier.Target{Host: "bank.example", Port: 443}, FingerprintSHA256: "ab12",
		Outcome: verifier.OutcomeRejected, Source: verifier.SourceNotaries, Reason: "2 of 3 saw another certificate",
		Agreed: 1, Asked: 3, Answers: []verifier.NotaryAnswer{{Notary: "n1", Kind: verifier.AnswerDisagree}},
	}
	trusted := verifier.Verdict{Target: verifier.Target{Host: "news.example", Port: 443},
		Outcome: verifier.OutcomeTrusted, Source: verifier.SourceNotaries, Agreed: 3, Asked: 3}
	c.publish(verifier.Event{Kind: verifier.EventRejected, Verdict: rejected, Time: at})
	c.publish(verifier.Event{Kind: verifier.EventVerified, Verdict: trusted, Time: at.Add(time.Minute)})
	cacheHit := trusted
	cacheHit.Source = verifier.SourceCache
	c.publish(verifier.Event{Kind: verifier.EventVerified, Verdict: cacheHit, Time: at.Add(2 * time.Minute)})

	h, err := c.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 {
		t.Fatalf("%d history events, want 2 (the cache hit is not kept): %+v", len(h), h)
	}
	got := h[0]
	if got.Kind != verifier.EventRejected || !got.Time.Equal(at) || got.Verdict.Target != rejected.Target ||
		got.Verdict.Outcome != verifier.OutcomeRejected || got.Verdict.Reason != rejected.Reason ||
		got.Verdict.Agreed != 1 || got.Verdict.Asked != 3 || len(got.Verdict.Answers) != 1 ||
		got.Verdict.Answers[0].Kind != verifier.AnswerDisagree {
		t.Errorf("first event back: %+v", got)
	}
	if h[1].Verdict.Target.Host != "news.example" || !h[1].Verdict.Allowed() {
		t.Errorf("second event back: %+v, want news.example trusted", h[1])
	}
}

// TestHistoryEventRow: HistoryEvent fills the row's own columns from the event, and a
// notary-unreachable event keeps which notary failed through History.
func TestHistoryEventRow(t *testing.T) {
	ctx, c := openHistoryCore(t)
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	ev := verifier.Event{Kind: verifier.EventNotaryUnreachable, Notary: "n2", Time: at, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: "mail.example", Port: 993}, Outcome: verifier.OutcomeTrusted,
		Source: verifier.SourceNotaries, Agreed: 2, Asked: 3,
		Answers: []verifier.NotaryAnswer{{Notary: "n2", Kind: verifier.AnswerUnreachable, Err: "i/o timeout"}},
	}}
	row := HistoryEvent(ev)
	if row.Kind != string(verifier.EventNotaryUnreachable) || row.Host != "mail.example" || row.Port != 993 || !row.Time.Equal(at) {
		t.Fatalf("HistoryEvent row = %+v", row)
	}
	if _, err := c.Store.AddEvent(ctx, row); err != nil {
		t.Fatal(err)
	}
	h, err := c.History(ctx, 1)
	if err != nil || len(h) != 1 {
		t.Fatalf("History = %+v, %v; want the one event", h, err)
	}
	if got := h[0]; got.Notary != "n2" || !got.Verdict.Allowed() || got.Verdict.Answers[0].Err != "i/o timeout" {
		t.Errorf("event back: %+v", got)
	}
}
