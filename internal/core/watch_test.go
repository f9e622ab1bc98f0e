package core

import (
	"context"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// TestStoreWatchAppliesTerminalChanges: a change another process makes in the store
// (here a second Store on the same data dir, as `convergence set` opens one) reaches
// the running core: the pause at once, and the listeners hear of it.
func TestStoreWatchAppliesTerminalChanges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	c, err := Open(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", NoCA: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	heard := make(chan struct{}, 8)
	c.OnStoreChange(func() { heard <- struct{}{} })
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.runWatch(wctx, 20*time.Millisecond) }() // ends at stop
	defer func() { stop(); <-done }()
	time.Sleep(60 * time.Millisecond) // the watcher has read the counter

	term, err := settings.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	for _, paused := range []bool{true, false} {
		s, err := term.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Paused = paused
		if err := term.SaveSettings(ctx, s); err != nil {
			t.Fatal(err)
		}
		select {
		case <-heard:
		case <-ctx.Done():
			t.Fatalf("the change to paused=%v never reached the running core", paused)
		}
		if c.Paused() != paused {
			t.Errorf("after the terminal set paused=%v the core says %v", paused, c.Paused())
		}
	}
}
