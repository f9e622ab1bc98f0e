package settings

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	crashCommitted   = 100  // events committed one by one before the kill
	crashUncommitted = 4000 // events in the transaction that is killed: about 1 MB, 16 times its page cache
)

// runCrashChild commits rows, then starts a big transaction and waits to be killed.
func runCrashChild(dir string) {
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		childFail("open: %v", err)
	}
	for i := 0; i < crashCommitted; i++ {
		if _, err := s.AddEvent(ctx, Event{Kind: "committed", Port: i}); err != nil {
			childFail("add event: %v", err)
		}
	}
	if _, err := s.PutNotary(ctx, testNotary("committed", 3)); err != nil {
		childFail("put notary: %v", err)
	}
	st := Defaults()
	st.Paused = true
	if err := s.SaveSettings(ctx, st); err != nil {
		childFail("save settings: %v", err)
	}
	fmt.Println("COMMITTED")

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		childFail("begin: %v", err)
	}
	// A small page cache makes SQLite spill the transaction's pages into the WAL
	// before the commit, so the kill leaves uncommitted frames on disk.
	if _, err := tx.ExecContext(ctx, "PRAGMA cache_size = -64"); err != nil {
		childFail("cache_size: %v", err)
	}
	detail := `{"pad":"` + strings.Repeat("x", 200) + `"}`
	for i := 0; i < crashUncommitted; i++ {
		if _, err := tx.ExecContext(ctx, "INSERT INTO events(time, kind, host, port, detail) VALUES(?, 'uncommitted', 'h', ?, ?)", time.Now().UnixNano(), i, detail); err != nil {
			childFail("insert: %v", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO notaries(name, added_at, updated_at) VALUES('ghost', 1, 1)"); err != nil {
		childFail("insert notary: %v", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE settings SET value = 'false' WHERE key = 'paused'"); err != nil {
		childFail("update settings: %v", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM notary_hosts"); err != nil {
		childFail("delete hosts: %v", err)
	}
	fmt.Println("INTX")
	childWait()
}

// TestReopenAfterKill kills a child process (SIGKILL) in the middle of a big
// transaction and checks that what it committed survives and nothing of the
// transaction does.
func TestReopenAfterKill(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd, lines := child(t, ctx, "crash", dir)
	waitLine(t, ctx, lines, "COMMITTED")
	waitLine(t, ctx, lines, "INTX")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if cmd.ProcessState == nil || cmd.ProcessState.Success() {
		t.Fatalf("child was not killed: %v", err)
	}
	t.Logf("child ended: %v", err)
	// The uncommitted transaction must really have reached the disk (spilled pages in
	// the WAL), or the test would only show that memory is lost on a kill.
	if fi, err := os.Stat(filepath.Join(dir, DBName+"-wal")); err != nil || fi.Size() < 256<<10 {
		t.Fatalf("WAL after the kill: %v, %v; want over 256 KiB of spilled pages", fi, err)
	}

	if fi, err := os.Stat(filepath.Join(dir, DBName+"-wal")); err == nil {
		t.Logf("WAL holds %d bytes after the kill", fi.Size())
	}
	s := openTest(t, dir)
	if !s.checked {
		t.Error("the store the killed child left open was not checked at open")
	}
	ev, err := s.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != crashCommitted {
		t.Errorf("got %d events, want the %d committed", len(ev), crashCommitted)
	}
	for _, e := range ev {
		if e.Kind != "committed" {
			t.Fatalf("an uncommitted event survived: %+v", e)
		}
	}
	n, err := s.Notary(ctx, "committed")
	if err != nil || len(n.Hosts) != 3 {
		t.Errorf("committed notary = %+v, %v; want it with 3 hosts", n, err)
	}
	if _, err := s.Notary(ctx, "ghost"); err == nil {
		t.Error("the uncommitted notary survived")
	}
	st, err := s.Settings(ctx)
	if err != nil || !st.Paused {
		t.Errorf("settings = %+v, %v; want the committed Paused", st, err)
	}
}
