package settings

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// TestSubsetKeyMadeOnceAndKept: the key is made on first use, the same from a second
// connection (another process) and after a reopen.
func TestSubsetKeyMadeOnceAndKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openStore(t, dir)
	b := openStore(t, dir)
	ka, err := a.SubsetKey(ctx)
	if err != nil || len(ka) != 32 {
		t.Fatalf("SubsetKey = %x, %v; want 32 bytes", ka, err)
	}
	kb, err := b.SubsetKey(ctx)
	if err != nil || !bytes.Equal(ka, kb) {
		t.Fatalf("second store's key %x, %v; want the first one's %x", kb, err, ka)
	}
	a.Close()
	c := openStore(t, dir)
	if kc, err := c.SubsetKey(ctx); err != nil || !bytes.Equal(ka, kc) {
		t.Fatalf("key after reopen %x, %v; want %x", kc, err, ka)
	}
	if other, err := openStore(t, t.TempDir()).SubsetKey(ctx); err != nil || bytes.Equal(other, ka) {
		t.Fatalf("another install's key %x, %v; want a different one", other, err)
	}
}

// TestChangesCountWhatTheAppHoldsInMemory: writes to settings, notaries, pins and
// cache removals move the counter, whichever connection makes them; cache additions
// and history events do not.
func TestChangesCountWhatTheAppHoldsInMemory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	app := openStore(t, dir)
	term := openStore(t, dir) // the terminal, another process
	last, err := app.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, moves bool, do func() error) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		n, err := app.Changes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if (n != last) != moves {
			t.Errorf("%s: counter %d -> %d; want moved = %v", what, last, n, moves)
		}
		last = n
	}
	fp := "ab" + string(bytes.Repeat([]byte("cd"), 31))
	step("save settings", true, func() error {
		s, _ := term.Settings(ctx)
		s.Paused = true
		return term.SaveSettings(ctx, s)
	})
	step("add a pin", true, func() error { return term.AddPin(ctx, "shop.test", 443, fp, "") })
	step("delete a pin", true, func() error { return term.DeletePin(ctx, "shop.test", 443, fp) })
	step("cache a verdict", false, func() error {
		return app.PutCache(ctx, CacheEntry{Host: "shop.test", Port: 443, FingerprintSHA256: fp, Vouchers: []string{"a"}, Expires: time.Now().Add(time.Hour)})
	})
	step("record an event", false, func() error {
		_, err := app.AddEvent(ctx, Event{Time: time.Now(), Kind: "verified", Host: "shop.test", Port: 443})
		return err
	})
	step("clear the cache", true, func() error { _, err := term.ClearCache(ctx); return err })
}

// TestWatchChangesSeesAnotherConnection: a change made through another store reaches
// the watcher within a few intervals; a failing apply is retried.
func TestWatchChangesSeesAnotherConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	app := openStore(t, dir)
	term := openStore(t, dir)
	calls := make(chan struct{}, 16)
	fail := true
	failures := 0
	done := make(chan struct{})
	wctx, stop := context.WithCancel(ctx)
	go func() { // ends when stop is called
		defer close(done)
		app.WatchChanges(wctx, 20*time.Millisecond, func() error {
			if fail {
				fail = false
				return errors.New("the first apply fails")
			}
			calls <- struct{}{}
			return nil
		}, func(error) { failures++ })
	}()
	time.Sleep(50 * time.Millisecond) // the watcher has read the counter
	s, _ := term.Settings(ctx)
	s.Paused = true
	if err := term.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	select {
	case <-calls:
	case <-ctx.Done():
		t.Fatal("the watcher never applied the change")
	}
	stop()
	<-done
	if failures != 1 {
		t.Errorf("failures reported %d, want 1 (then the retry applied it)", failures)
	}
	select {
	case <-calls:
		t.Error("one change was applied twice")
	default:
	}
}

// openStore opens the store in dir and closes it when the test ends.
func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
