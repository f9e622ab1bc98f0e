package ui

import (
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/countcases"
	"github.com/convergence-ng/convergence/verifier"
)

// TestEverySurfaceCountsAlike (issue 15): the same verdicts (countcases) worded by the
// Activity row, the details, the notification and the tray's recent alerts state the
// same counts in the same words, verifier.CountWords's, and no other count besides;
// no notary without an address gets an empty "()". The block page's test is in
// localproxy, the terminal's in internal/cli.
func TestEverySurfaceCountsAlike(t *testing.T) {
	alerts := 0
	for _, c := range countcases.Cases() {
		ev := c.Event()
		if got := verifier.CountWords(c.Verdict); got != c.Words {
			t.Fatalf("%s: CountWords = %q, want %q", c.Name, got, c.Words)
		}
		if err := c.Says(summary(ev)); err != nil {
			t.Errorf("Activity row: %v", err)
		}
		if err := c.Says(whyText(c.Verdict)); err != nil {
			t.Errorf("details: %v", err)
		}
		answers := answersText(c.Verdict.Answers)
		if strings.Contains(answers, "()") || !strings.Contains(answers, "Gamma: ") {
			t.Errorf("%s: the details' answers name Gamma, which has no address, badly:\n%s", c.Name, answers)
		}
		if !isAlert(ev) {
			continue
		}
		alerts++
		if err := c.Says(notificationFor(ev).Body); err != nil {
			t.Errorf("notification: %v", err)
		}
		if err := c.Says(alertLabel(ev)); err != nil {
			t.Errorf("tray alert: %v", err)
		}
	}
	// Every case but the two trusted ones is an alert: rejected four, let through one.
	if alerts != 5 {
		t.Errorf("%d of the cases were notified, want 5", alerts)
	}
}
