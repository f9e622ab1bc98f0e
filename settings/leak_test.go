package settings

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// openFDs counts this process's open file descriptors (Linux only; -1 elsewhere).
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// TestOpenCloseLeaksNothing opens, uses and closes stores (a good one, a corrupt one
// recovered, a refused one) many times and checks goroutines and file descriptors
// come back to where they were.
func TestOpenCloseLeaksNothing(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	cycle := func() {
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddEvent(ctx, Event{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Notaries(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
		bad := t.TempDir()
		os.WriteFile(filepath.Join(bad, DBName), []byte("garbage"), 0o600)
		if _, err := Open(ctx, bad); err == nil {
			t.Fatal("Open accepted garbage")
		}
		s, _, err = OpenOrRecover(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	cycle() // warm up: lazily started runtime and driver state is not a leak
	g0, fd0 := runtime.NumGoroutine(), openFDs()
	for i := 0; i < 10; i++ {
		cycle()
	}
	// Goroutines that are ending may take a moment to be gone; poll, bounded.
	var g, fd int
	for i := 0; i < 100; i++ {
		g, fd = runtime.NumGoroutine(), openFDs()
		if g <= g0 && fd <= fd0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("after 10 cycles: %d goroutines (was %d), %d fds (was %d)", g, g0, fd, fd0)
}
