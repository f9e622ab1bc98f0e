package settings

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// markers returns the open markers in dir.
func markers(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, markerPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// exitedPID returns the ID of a process that has run and ended: this test binary,
// started to run no test.
func exitedPID(t testing.TB) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("failed to run a child that ends at once: %v", err)
	}
	return cmd.ProcessState.Pid()
}

// leaveMarker leaves a marker as a Store of process pid would, had pid not closed it.
func leaveMarker(t testing.TB, dir string, pid int) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("%s%d-%s", markerPrefix, pid, "0123456789abcdef"))
	if err := os.WriteFile(path, nil, PrivateFileMode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenChecksOnlyAfterUncleanShutdown: a store closed cleanly reopens without the
// integrity check; one whose last Store did not close (a marker of an ended process)
// is checked once, and the marker goes.
func TestOpenChecksOnlyAfterUncleanShutdown(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.checked {
		t.Error("a new database was checked")
	}
	m := markers(t, dir)
	if len(m) != 1 {
		t.Fatalf("markers while open = %v; want one", m)
	}
	if fi, err := os.Stat(m[0]); err != nil || fi.Mode().Perm() != PrivateFileMode {
		t.Errorf("marker %v, %v; want mode %v", fi, err, PrivateFileMode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := markers(t, dir); len(m) != 0 {
		t.Fatalf("markers after a clean Close = %v; want none", m)
	}

	s = openTest(t, dir)
	if s.checked {
		t.Error("a store closed cleanly was checked at open")
	}
	s.Close()

	dead := leaveMarker(t, dir, exitedPID(t))
	s = openTest(t, dir)
	if !s.checked {
		t.Error("a store left open by an ended process was not checked")
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the ended process's marker is still there: %v", err)
	}
	s.Close()
	s = openTest(t, dir)
	if s.checked {
		t.Error("the store was checked again after a clean Close")
	}
}

// TestOpenBesideAnotherProcess: a marker of a process that runs (the terminal beside
// the app) makes Open check, and stays for its owner to remove. A marker with this
// process's ID that no Store here owns was left by an earlier process with the same
// ID: it is checked and removed.
func TestOpenBesideAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	live := leaveMarker(t, dir, os.Getppid())
	s := openTest(t, dir)
	if !s.checked {
		t.Error("a store another process has open was not checked")
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the running process's marker was removed: %v", err)
	}
	// Two Stores of one process do not check each other.
	s2, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.checked {
		t.Error("the second store did not see the running process's marker")
	}
	s2.Close()
	os.Remove(live)
	s3, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s3.checked {
		t.Error("a store checked because another Store of this process is open")
	}
	s3.Close()
	s.Close()

	same := leaveMarker(t, dir, os.Getpid())
	s = openTest(t, dir)
	if !s.checked {
		t.Error("a marker of an earlier process with this ID was not checked")
	}
	if _, err := os.Stat(same); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the earlier process's marker is still there: %v", err)
	}
}

// TestCorruptAfterCrashIsFound: pages damaged in a store that was not closed cleanly
// give ErrCorrupt at open, and OpenOrRecover moves the file aside.
func TestCorruptAfterCrashIsFound(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]Event, 2000)
	for i := range batch {
		batch[i] = Event{Kind: "verified", Host: "h.test", Port: i, Detail: `{"pad":"` + strings.Repeat("x", 200) + `"}`}
	}
	if err := s.AddEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DBName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The events' pages, past the schema's first pages.
	copy(b[len(b)/2:], bytes.Repeat([]byte{0xa5}, 4*4096))
	if err := os.WriteFile(path, b, PrivateFileMode); err != nil {
		t.Fatal(err)
	}
	leaveMarker(t, dir, exitedPID(t))
	// The check finds it, not a query the open makes anyway.
	if _, err := Open(ctx, dir); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "failed to check") {
		t.Fatalf("Open of a damaged store after a crash: %v; want ErrCorrupt from the check", err)
	}
	s, rec, err := OpenOrRecover(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !errors.Is(rec.Reason, ErrCorrupt) || rec.MovedTo == "" {
		t.Errorf("Recovery = %+v; want the damaged file moved aside for ErrCorrupt", rec)
	}
	if m := markers(t, dir); len(m) != 1 {
		t.Errorf("markers after the recovery = %v; want the fresh store's own", m)
	}
}
