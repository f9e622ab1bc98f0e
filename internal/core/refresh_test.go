package core

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/verifier"
)

// lockedBuffer is a log destination safe for the refresh goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunBundleRefresh runs the loop with millisecond waits (the refreshDelay seam) on a
// real store holding a real notary whose bundle location is a loopback HTTPS server the
// system roots do not trust: every refresh fails for it, and each is logged. The loop
// ends when its context is cancelled, and a loop still running ends at Close.
func TestRunBundleRefresh(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logs := &lockedBuffer{}
	c, err := Open(ctx, Options{DataDir: t.TempDir(), NoCA: true, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			c.Close()
		}
	})

	raw, location := testnotary.StartAtUntrustedLocation(t, "far")
	if _, err := c.Verifier.ImportBundleBytes(ctx, raw, "far.notary", verifier.ImportOptions{}); err != nil {
		t.Fatal(err)
	}

	var delays sync.Map // first bool -> asked
	c.refreshDelay = func(first bool) time.Duration {
		delays.Store(first, true)
		return time.Millisecond
	}
	loopCtx, stopLoop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // ends when stopLoop is called
		defer close(done)
		c.RunBundleRefresh(loopCtx)
	}()
	for i := 0; strings.Count(logs.String(), "refreshed notary bundles") < 2; i++ {
		if i == 3000 || ctx.Err() != nil {
			t.Fatalf("fewer than two refreshes logged:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopLoop()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("RunBundleRefresh did not return after its context was cancelled")
	}
	out := logs.String()
	if !strings.Contains(out, "failed=1") || !strings.Contains(out, "updated=0") {
		t.Errorf("summary lines lack the counts:\n%s", out)
	}
	if !strings.Contains(out, `msg="failed to refresh notary bundle" notary=far`) || !strings.Contains(out, location) {
		t.Errorf("the failure is not logged with the notary and its location:\n%s", out)
	}
	if _, ok := delays.Load(true); !ok {
		t.Error("the first refresh did not use the first delay")
	}
	if _, ok := delays.Load(false); !ok {
		t.Error("later refreshes did not use the later delay")
	}

	// A loop owned by a context that never ends still ends at Close.
	waiting := make(chan struct{}, 1)
	c.refreshDelay = func(bool) time.Duration {
		waiting <- struct{}{}
		return time.Hour
	}
	done = make(chan struct{})
	go func() { // ends at c.Close
		defer close(done)
		c.RunBundleRefresh(context.Background())
	}()
	select {
	case <-waiting: // the loop is running and counted by Close
	case <-ctx.Done():
		t.Fatal("RunBundleRefresh did not start")
	}
	closeErr := make(chan error, 1)
	go func() { closeErr <- c.Close() }()
	closed = true
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("RunBundleRefresh did not return at Close")
	}
	select {
	case err := <-closeErr:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
	// After Close, the loop does not start.
	c.RunBundleRefresh(context.Background())
}

func TestBundleRefreshDelay(t *testing.T) {
	if d := bundleRefreshDelay(true); d != bundleRefreshFirst {
		t.Errorf("first delay %v, want %v", d, bundleRefreshFirst)
	}
	for range 100 {
		if d := bundleRefreshDelay(false); d < bundleRefreshEvery || d >= bundleRefreshEvery+bundleRefreshJitter {
			t.Fatalf("later delay %v, want in [24h, 36h)", d)
		}
	}
}
