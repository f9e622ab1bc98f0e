package core

import (
	"context"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// TestPauseEndsByItself: a pause with an end is kept in the store (the terminal sees
// it), holds until then, and the running app resumes at the end and says so.
func TestPauseEndsByItself(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NoCA: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	notices := make(chan Notice, 4)
	c.OnNotice(func(n Notice) { notices <- n })
	tctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.RunPauseTimer(tctx) }() // ends at stop
	defer func() { stop(); <-done }()

	if err := c.Pause(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	s, _ := c.Settings(ctx)
	if !s.Paused || s.PausedUntil.IsZero() || !c.Paused() || c.Status().PausedUntil.IsZero() {
		t.Fatalf("after Pause(2s): stored %v until %v, Paused() %v", s.Paused, s.PausedUntil, c.Paused())
	}
	select {
	case n := <-notices:
		if n.Kind != NoticePauseEnded {
			t.Fatalf("notice = %+v", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no reminder within 20 s of a 2 s pause")
	}
	if s, _ := c.Settings(ctx); s.Paused || !s.PausedUntil.IsZero() || c.Paused() {
		t.Fatalf("after the end: stored %v until %v, Paused() %v", s.Paused, s.PausedUntil, c.Paused())
	}

	// Until resumed: no end, no reminder; a resume clears it.
	if err := c.Pause(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Settings(ctx); !s.Paused || !s.PausedUntil.IsZero() {
		t.Fatalf("Pause(0) stored %v until %v", s.Paused, s.PausedUntil)
	}
	if err := c.SetPaused(ctx, false); err != nil || c.Paused() {
		t.Fatalf("resume: %v, paused %v", err, c.Paused())
	}
}

func TestPausedAt(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		s    settings.Settings
		want bool
	}{
		{settings.Settings{}, false},
		{settings.Settings{Paused: true}, true},
		{settings.Settings{Paused: true, PausedUntil: now.Add(time.Minute)}, true},
		{settings.Settings{Paused: true, PausedUntil: now}, false},
		{settings.Settings{Paused: false, PausedUntil: now.Add(time.Minute)}, false},
	} {
		if got := c.s.PausedAt(now); got != c.want {
			t.Errorf("%+v.PausedAt = %v, want %v", c.s, got, c.want)
		}
	}
}
