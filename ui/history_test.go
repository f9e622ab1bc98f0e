package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
)

// TestActivityShowsEarlierRuns: verdicts kept from an earlier run appear in the
// Activity list at start, before the ones that arrive since, and raise no notification.
func TestActivityShowsEarlierRuns(t *testing.T) {
	b := newStoreBackend(t)
	now := time.Now()
	b.addHistory(t, disagreement("yesterday.example", now.Add(-24*time.Hour)))
	u, rec := newTestUI(t, b)
	selectTab(t, u, "Activity") // a first run opens on Setup
	if !hasText(u.win, "yesterday.example") {
		t.Fatalf("the earlier run's verdict is not in the Activity list:\n%s", visibleText(u.win))
	}
	u.Publish(disagreement("today.example", now))
	waitIdle(t, u)
	evs := u.snapshot()
	if len(evs) != 2 || evs[0].Verdict.Target.Host != "yesterday.example" || evs[1].Verdict.Target.Host != "today.example" {
		t.Fatalf("events oldest first: %+v", evs)
	}
	select {
	case n := <-rec.ch:
		if n.Title != "Convergence blocked today.example" {
			t.Errorf("notification %+v; want only today's", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification for today's disagreement")
	}
	select {
	case n := <-rec.ch:
		t.Errorf("a second notification, for history: %+v", n)
	default:
	}
}

// TestHistoryWaitsForTheWindow: an app that only sits in the tray keeps no earlier
// verdicts in memory; the first Show reads them, and a later Show does not again.
func TestHistoryWaitsForTheWindow(t *testing.T) {
	b := newStoreBackend(t)
	b.addHistory(t, disagreement("yesterday.example", time.Now().Add(-24*time.Hour)))
	u := newHiddenTestUI(t, b, func(fyne.App) notifier { return newRecorder() })
	if evs := u.snapshot(); len(evs) != 0 {
		t.Fatalf("before the window was shown the Activity list holds %d verdicts; want none", len(evs))
	}
	u.Show()
	waitIdle(t, u)
	if evs := u.snapshot(); len(evs) != 1 || evs[0].Verdict.Target.Host != "yesterday.example" {
		t.Fatalf("after the first Show: %+v; want yesterday.example", evs)
	}
	u.win.Hide()
	u.Show()
	waitIdle(t, u)
	if evs := u.snapshot(); len(evs) != 1 {
		t.Fatalf("after a second Show the list holds %d verdicts; want the history read once", len(evs))
	}
}
