package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// TestNotaryHealthLive: a notary's card says its last answer, answer rate and latency
// from the history kept in the store by an earlier run, and changes as new verdicts
// arrive, to "Unreachable since" when it stops answering and back when it answers.
func TestNotaryHealthLive(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	now := time.Now()
	answer := func(at time.Time, k verifier.AnswerKind, ms int) verifier.Event {
		return verifier.Event{Kind: verifier.EventVerified, Time: at, Verdict: verifier.Verdict{
			Target: verifier.Target{Host: "shop.example", Port: 443}, Outcome: verifier.OutcomeTrusted, Source: verifier.SourceNotaries,
			Agreed: 1, Asked: 1, Time: at, Answers: []verifier.NotaryAnswer{{Notary: "Alpha", Host: "alpha.example.org:443", Kind: k,
				Latency: time.Duration(ms) * time.Millisecond}}}}
	}
	b.addHistory(t, answer(now.Add(-30*time.Minute), verifier.AnswerAgree, 90), answer(now.Add(-20*time.Minute), verifier.AnswerAgree, 110))
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Notaries")
	line := func() string {
		t.Helper()
		l := u.notaries.health["Alpha"]
		if l == nil {
			t.Fatalf("no health line on Alpha's card: %s", visibleText(u.win))
		}
		if !hasText(u.win, l.Text) {
			t.Fatalf("the health line %q is not on screen", l.Text)
		}
		return l.Text
	}
	if got := line(); got != "Last answer 20 min ago · answered 2 of 2 in the last hour · typically 110 ms" {
		t.Errorf("from the history: %q", got)
	}

	down := now.Add(-time.Minute)
	u.Publish(answer(down, verifier.AnswerUnreachable, 0))
	waitIdle(t, u)
	// The time alone today, with the date after midnight.
	if got := line(); !strings.HasPrefix(got, "Unreachable since ") || !strings.Contains(got, down.Format("15:04")+" · answered 2 of 3 in the last hour · typically 110 ms") {
		t.Errorf("after a verdict it did not answer: %q", got)
	}
	u.Publish(answer(now, verifier.AnswerAgree, 40))
	waitIdle(t, u)
	if got := line(); !strings.HasPrefix(got, "Last answer just now · answered 3 of 4 in the last hour") {
		t.Errorf("after it answered again: %q", got)
	}
}
