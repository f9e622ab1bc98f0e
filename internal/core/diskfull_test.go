package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// mountSmallDisk mounts a tmpfs of size (e.g. "1m") in a temp dir and returns it; it
// is unmounted at the test's end. Needs root; skips otherwise.
func mountSmallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs (CI runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fileSize is the size of path, 0 when it does not exist.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// diskFullEvent is a history event about host, padded so the disk fills quickly.
func diskFullEvent(host string, at time.Time) verifier.Event {
	return verifier.Event{Kind: verifier.EventRejected, Time: at, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: host, Port: 443}, Outcome: verifier.OutcomeRejected,
		Source: verifier.SourceNotaries, Reason: strings.Repeat("r", 2000), Agreed: 0, Asked: 3,
	}}
}

// diskFullVerdict is a cached verdict for host, as storeVerdict writes it.
func diskFullVerdict(host string, at time.Time) settings.CacheEntry {
	fp := strings.Repeat(fmt.Sprintf("%02x", len(host)%256), 32)
	vouchers := make([]string, 8)
	for i := range vouchers {
		vouchers[i] = fmt.Sprintf("notary-%d-%s", i, strings.Repeat("v", 100))
	}
	return settings.CacheEntry{Host: host, Port: 443, FingerprintSHA256: fp, Vouchers: vouchers, Created: at, Expires: at.Add(time.Hour)}
}

// hasHost reports whether the history holds an event about host.
func hasHost(h []verifier.Event, host string) bool {
	for _, ev := range h {
		if ev.Verdict.Target.Host == host {
			return true
		}
	}
	return false
}

// TestDiskFullAndBack runs the app's store on a 1 MiB tmpfs (issue 20 item 3): verdicts
// and history are written until the disk is full, then a filler file made first is
// removed. Writes must fail with ErrDiskFull while it is full, Status must say so,
// and once space is back new verdicts and history must be saved again without a
// restart, with the write-ahead log truncated; a clean close leaves no log behind.
func TestDiskFullAndBack(t *testing.T) {
	dir := mountSmallDisk(t, "1m")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	logs := &lockedBuffer{}
	c, err := Open(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", NoCA: true, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			c.Close()
		}
	})
	wal := filepath.Join(dir, settings.DBName+"-wal")

	// A filler to remove later, so that space comes back.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 256<<10), 0o600); err != nil {
		t.Fatal(err)
	}

	at := time.Now()
	var putErr error
	var maxWAL int64
	lastHost := ""
	historyFailed := func() bool { return strings.Contains(logs.String(), "failed to record events") }
	for i := 0; i < 4000 && (putErr == nil || !historyFailed()); i++ {
		host := fmt.Sprintf("site-%d.example", i)
		lastHost = host
		c.publish(diskFullEvent(host, at))
		if err := c.Store.PutCache(ctx, diskFullVerdict(host, at)); err != nil && putErr == nil {
			putErr = err
			t.Logf("first failed verdict write (#%d): %v", i, err)
		}
		if i%8 == 7 {
			if _, err := c.History(ctx, 1); err != nil {
				t.Fatal(err)
			}
		}
		maxWAL = max(maxWAL, fileSize(t, wal))
	}
	if putErr == nil || !historyFailed() {
		t.Fatalf("the disk never filled: verdict write error %v, history failed %v", putErr, historyFailed())
	}
	t.Logf("full: WAL %d bytes (largest seen %d), database %d bytes", fileSize(t, wal), maxWAL, fileSize(t, filepath.Join(dir, settings.DBName)))
	if !errors.Is(putErr, settings.ErrDiskFull) {
		t.Errorf("verdict write on a full disk: %v; want settings.ErrDiskFull", putErr)
	}
	if st := c.Status(); !st.DiskFull {
		t.Errorf("Status on a full disk: %+v; want DiskFull", st)
	}
	if !strings.Contains(logs.String(), "the disk is full: Convergence cannot remember new verdicts") {
		t.Errorf("the log does not say the disk is full:\n%s", logs.String())
	}

	// Space comes back.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := c.Store.PutCache(ctx, diskFullVerdict("after.example", at)); err != nil {
		t.Errorf("verdict write once space is back: %v", err)
	}
	if st := c.Status(); st.DiskFull {
		t.Errorf("Status after a verdict was saved again: %+v; want DiskFull cleared", st)
	}
	c.publish(diskFullEvent("after.example", at))
	// A poll, not a timed assertion: the writer retries by itself; the context bounds it.
	for {
		h, err := c.History(ctx, 5)
		if err != nil {
			t.Fatalf("history once space is back: %v", err)
		}
		if hasHost(h, "after.example") {
			// The events refused while the disk was full waited, and came before.
			if !hasHost(h, lastHost) {
				t.Errorf("the last event published on the full disk (%s) is not in the history once space is back", lastHost)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the history writer never saved an event once space was back")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !strings.Contains(logs.String(), "the disk has space again") {
		t.Errorf("the log does not say the disk has space again:\n%s", logs.String())
	}
	walAfter := fileSize(t, wal)
	t.Logf("after recovery: WAL %d bytes", walAfter)
	if walAfter > settings.WALSizeLimit {
		t.Errorf("WAL is %d bytes after recovery; want at most %d", walAfter, settings.WALSizeLimit)
	}

	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	closed = true
	t.Logf("after a clean close: WAL %d bytes", fileSize(t, wal))
	if n := fileSize(t, wal); n != 0 {
		t.Errorf("a clean close left a WAL of %d bytes", n)
	}
	s, err := settings.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.LookupCache(ctx, "after.example", 443, diskFullVerdict("after.example", at).FingerprintSHA256, at); err != nil {
		t.Errorf("the verdict saved after recovery is not there after a reopen: %v", err)
	}
	if ev, err := s.Events(ctx, 1); err != nil || len(ev) != 1 || ev[0].Host != "after.example" {
		t.Errorf("newest event after a reopen: %+v %v; want after.example", ev, err)
	}
}
