package settings

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Faults of the store's surroundings: another process holding the database's write
// lock, and a full disk (the keyring going away is keyring_faults_test.go). A corrupt
// file is TestOpenOrRecoverMovesCorruptFileAside; a kill mid-write is TestReopenAfterKill.

// envFaultChild names the child TestFaultChildProcess plays; the data dir comes in
// envChildDir, as for TestChildProcess.
const envFaultChild = "CONVERGENCE_SETTINGS_FAULT_CHILD"

// TestFaultChildProcess is the child of the tests here that need another process:
// "lock" holds the store's write lock, "keyringgone" stores a secret in the real
// keyring and reads it again after the parent has killed the keyring daemon.
func TestFaultChildProcess(t *testing.T) {
	switch os.Getenv(envFaultChild) {
	case "lock":
		runLockChild(os.Getenv(envChildDir))
	case "keyringgone":
		runKeyringGoneChild(os.Getenv(envChildDir))
	default:
		t.Skip("only runs as a child process of another test")
	}
}

// runLockChild opens the store, takes the write lock with BEGIN EXCLUSIVE, writes a
// row in that transaction and waits to be killed.
func runLockChild(dir string) {
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		childFail("open: %v", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		childFail("conn: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		childFail("begin exclusive: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO events(time, kind, host, port, detail) VALUES(1, 'locker', 'h', 1, '')"); err != nil {
		childFail("insert: %v", err)
	}
	fmt.Println("LOCKED")
	childWait()
}

// faultChild starts this test binary as the named child of TestFaultChildProcess and
// returns it, a pipe to its stdin and its stdout lines. The context kills it at the
// latest when the test ends.
func faultChild(t *testing.T, ctx context.Context, mode, dir string, env ...string) (*exec.Cmd, io.WriteCloser, <-chan string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFaultChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envFaultChild+"="+mode, envChildDir+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 16)
	go func() { // ends at EOF, when the child exits
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, in, lines
}

// TestStoreLockedByAnotherProcess: while another process holds the write lock, reads
// go on, a write fails after the busy timeout instead of hanging, and opening the
// store again does not hang. Once the other process dies, writes work and nothing of
// its transaction is there.
func TestStoreLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := openTest(t, dir)
	if _, err := s.AddEvent(ctx, Event{Kind: "before"}); err != nil {
		t.Fatal(err)
	}

	cmd, _, lines := faultChild(t, ctx, "lock", dir)
	waitLine(t, ctx, lines, "LOCKED")

	if ev, err := s.Events(ctx, 0); err != nil || len(ev) != 1 {
		t.Errorf("read during the lock: %d events, %v; want the 1 committed", len(ev), err)
	}
	_, err := s.AddEvent(ctx, Event{Kind: "during"})
	if err == nil {
		t.Fatal("a write succeeded while another process held the write lock")
	}
	if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
		t.Errorf("write during the lock: %v; want it to say the database is locked", err)
	}
	t.Logf("write during the lock: %v", err)
	if s2, err := Open(ctx, dir); err == nil {
		s2.Close()
	} else {
		t.Logf("second Open during the lock: %v", err)
	}

	cmd.Process.Kill()
	cmd.Wait()
	if _, err := s.AddEvent(ctx, Event{Kind: "after"}); err != nil {
		t.Fatalf("write after the locker died: %v", err)
	}
	ev, err := s.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "after,before" {
		t.Errorf("events %v, want [after before]: the locker's and the failed write's must be gone", kinds)
	}
}

// TestStoreOnFullDisk runs the store on a 512 KiB tmpfs, fills it, and writes until
// the writes fail. Every write that returned nil survives a reopen once space is free,
// and no write that failed appears. Needs root (mount); skips otherwise.
func TestStoreOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	detail := `{"pad":"` + strings.Repeat("x", 1000) + `"}`
	acked := map[int]bool{}
	for i := range 20 {
		if _, err := s.AddEvent(ctx, Event{Kind: "ev", Port: i, Detail: detail}); err != nil {
			t.Fatalf("write %d before the disk is full: %v", i, err)
		}
		acked[i] = true
	}
	// Fill what is left.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for range 1024 {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	f.Close()
	failed, failures := map[int]bool{}, 0
	for i := 20; i < 520 && failures < 20; i++ {
		if _, err := s.AddEvent(ctx, Event{Kind: "ev", Port: i, Detail: detail}); err != nil {
			failed[i] = true
			failures++
			if failures == 1 {
				t.Logf("first failed write (#%d): %v", i, err)
			}
			continue
		}
		acked[i] = true
	}
	if failures == 0 {
		t.Fatal("no write failed on a full disk")
	}
	if ev, err := s.Events(ctx, 0); err != nil {
		t.Errorf("read on a full disk: %v", err)
	} else if len(ev) != len(acked) {
		t.Errorf("read on a full disk: %d events, %d acknowledged", len(ev), len(acked))
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvent(ctx, Event{Kind: "ev", Port: 10000, Detail: detail}); err != nil {
		t.Fatalf("write once space is free again: %v", err)
	}
	acked[10000] = true
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	closed = true

	s2 := openTest(t, dir)
	ev, err := s2.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for _, e := range ev {
		got[e.Port] = true
		if failed[e.Port] {
			t.Errorf("event %d's write failed, yet it is in the store", e.Port)
		}
	}
	for p := range acked {
		if !got[p] {
			t.Errorf("event %d was acknowledged, and is lost", p)
		}
	}
	var integrity string
	if err := s2.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity check after the full disk: %q %v", integrity, err)
	}
	t.Logf("%d writes acknowledged, %d failed on the full disk", len(acked), len(failed))
}
