package ui

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestTrayLoopRunsWorkUntilHandOver: work given from other goroutines waits for run,
// runs there in order, and run returns true once the work handed over to Fyne (a Show),
// after the work queued before the hand-over.
func TestTrayLoopRunsWorkUntilHandOver(t *testing.T) {
	l := newTrayLoop(true)
	var got []string
	done := make(chan struct{})
	go func() { // ends after queuing its three pieces of work
		defer close(done)
		l.do(func() { got = append(got, "refresh") })
		l.do(func() { got = append(got, "show"); l.handOver() })
		l.do(func() { got = append(got, "queued before the show ran") })
	}()
	<-done
	if len(got) != 0 {
		t.Fatalf("work ran before run: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !l.run(ctx) {
		t.Fatal("run returned false after a hand-over")
	}
	if want := []string{"refresh", "show", "queued before the show ran"}; !slices.Equal(got, want) {
		t.Fatalf("work ran as %q; want %q", got, want)
	}
	if l.inTray() {
		t.Error("the loop still keeps work after the hand-over")
	}
}

// TestTrayLoopEnds: run returns false when the app quits before a window was shown, or
// when its context ends; work left then is dropped.
func TestTrayLoopEnds(t *testing.T) {
	l := newTrayLoop(true)
	ran := false
	l.do(l.stop)
	l.do(func() { ran = true })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if l.run(ctx) {
		t.Fatal("run returned true after stop")
	}
	if ran {
		t.Error("work queued after the stop ran")
	}

	l = newTrayLoop(true)
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if l.run(ctx) {
		t.Fatal("run returned true with its context done")
	}
}

// TestTrayLoopNotInTray: a loop made for an app that starts with its window is handed
// over from the start.
func TestTrayLoopNotInTray(t *testing.T) {
	if newTrayLoop(false).inTray() {
		t.Fatal("a loop for an app that starts with its window keeps work")
	}
}

// TestWorkAfterTheLoopEndedIsDropped: once the app's loop has ended (UI.Ended), work
// handed to the loop is dropped, not given to Fyne, which would run it on a window
// system it has shut down (the store change Quit makes crashed the app so, seen in
// e2e TestDesktopSystemProxyNotifications).
func TestWorkAfterTheLoopEndedIsDropped(t *testing.T) {
	l := newTrayLoop(false) // Fyne's loop ran: work goes to fyne.Do
	u := &UI{loop: l}
	u.Ended()
	ran := false
	l.do(func() { ran = true })
	if ran || len(l.pending) != 0 {
		t.Fatalf("work after the loop ended ran (%v) or was kept (%d)", ran, len(l.pending))
	}
}
