package settings

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testCtx returns a context that ends before the test's deadline, so no test hangs.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(testCtx(t), dir)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenMigratesEmptyFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create bool
	}{{"no file", false}, {"empty file", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.create {
				if err := os.WriteFile(filepath.Join(dir, DBName), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := openTest(t, dir)
			ctx := testCtx(t)
			v, err := userVersion(ctx, s.db)
			if err != nil {
				t.Fatal(err)
			}
			if v != len(migrations) {
				t.Errorf("user_version = %d, want %d", v, len(migrations))
			}
			var mode string
			if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal_mode = %q, %v; want wal", mode, err)
			}
			// Every pooled connection must have the DSN pragmas, not only the first.
			conns := make([]*sql.Conn, 3)
			for i := range conns {
				c, err := s.db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			for i, c := range conns {
				var fk, busy int
				if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
					t.Fatal(err)
				}
				if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
					t.Fatal(err)
				}
				if fk != 1 || busy != int(busyTimeout.Milliseconds()) {
					t.Errorf("conn %d: foreign_keys=%d busy_timeout=%d", i, fk, busy)
				}
			}
			for _, table := range []string{"settings", "notaries", "notary_hosts", "cache", "cache_vouchers", "pins", "events"} {
				var n int
				if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
					t.Errorf("table %s: %v", table, err)
				}
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st := Defaults()
	st.Threshold, st.ThresholdK, st.Paused = ThresholdKOfN, 2, true
	if err := s.SaveSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutNotary(ctx, testNotary("alpha", 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvent(ctx, Event{Kind: "verified", Host: "example.org", Port: 443, Detail: `{"a":1}`}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	got, err := s.Settings(ctx)
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("Settings after reopen = %+v, %v; want %+v", got, err, st)
	}
	n, err := s.Notary(ctx, "alpha")
	if err != nil || len(n.Hosts) != 2 {
		t.Errorf("Notary after reopen = %+v, %v", n, err)
	}
	ev, err := s.Events(ctx, 0)
	if err != nil || len(ev) != 1 || ev[0].Detail != `{"a":1}` {
		t.Errorf("Events after reopen = %+v, %v", ev, err)
	}
}

// setUserVersion writes user_version with a plain connection, as a newer build would.
func setUserVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA user_version = " + itoa(v)); err != nil {
		t.Fatal(err)
	}
}

func itoa(v int) string { return strconv.Itoa(v) }

func TestNewerSchemaIsRefusedAndUntouched(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvent(ctx, Event{Kind: "k"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, DBName)
	setUserVersion(t, path, len(migrations)+1)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	_, err = Open(ctx, dir)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer schema: err = %v, want ErrNewerSchema", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("Open changed a database it refused")
	}

	s2, rec, err := OpenOrRecover(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if !errors.Is(rec.Reason, ErrNewerSchema) || rec.MovedTo == "" {
		t.Fatalf("Recovery = %+v, want a move for ErrNewerSchema", rec)
	}
	moved, err := os.ReadFile(rec.MovedTo)
	if err != nil || !bytes.Equal(moved, before) {
		t.Errorf("moved file differs from the original (err %v)", err)
	}
	if ev, err := s2.Events(ctx, 0); err != nil || len(ev) != 0 {
		t.Errorf("fresh database has events %v, %v", ev, err)
	}
}

func TestOpenOrRecoverMovesCorruptFileAside(t *testing.T) {
	for _, tc := range []struct {
		name    string
		garbage []byte
	}{
		{"text", []byte("this is not a database, it is a note\n")},
		{"pages", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 2048)},
		// The right magic, then garbage: SQLite itself must notice.
		{"magic then garbage", append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xff}, 8192)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := testCtx(t)
			path := filepath.Join(dir, DBName)
			if err := os.WriteFile(path, tc.garbage, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(ctx, dir); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: err = %v, want ErrCorrupt", err)
			}
			// A file already at the first name must not be overwritten.
			s, rec, err := OpenOrRecover(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !errors.Is(rec.Reason, ErrCorrupt) {
				t.Errorf("Reason = %v, want ErrCorrupt", rec.Reason)
			}
			if !strings.HasPrefix(filepath.Base(rec.MovedTo), DBName+".broken-") || filepath.Dir(rec.MovedTo) != dir {
				t.Errorf("MovedTo = %q", rec.MovedTo)
			}
			got, err := os.ReadFile(rec.MovedTo)
			if err != nil || !bytes.Equal(got, tc.garbage) {
				t.Errorf("moved file does not hold the original bytes (err %v)", err)
			}
			if err := s.SaveSettings(ctx, Defaults()); err != nil {
				t.Errorf("fresh store does not work: %v", err)
			}
		})
	}
}

func TestMoveAsideNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DBName)
	now := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	var moved []string
	for i := 0; i < 3; i++ {
		content := []byte{byte('a' + i)}
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+"-wal", content, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := moveAside(path, now)
		if err != nil {
			t.Fatal(err)
		}
		moved = append(moved, m)
	}
	for i, m := range moved {
		for _, suf := range []string{"", "-wal"} {
			b, err := os.ReadFile(m + suf)
			if err != nil || string(b) != string(rune('a'+i)) {
				t.Errorf("%s%s = %q, %v; want %q", m, suf, b, err, string(rune('a'+i)))
			}
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("original still there: %v", err)
	}
}

func TestOpenCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	openTest(t, dir)
	if fi, err := os.Stat(filepath.Join(dir, DBName)); err != nil || fi.Size() == 0 {
		t.Errorf("database in a new dir: %v, %v", fi, err)
	}
}
