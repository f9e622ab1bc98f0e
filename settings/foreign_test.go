package settings

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeForeignDB makes a SQLite file at path the way another program would: a plain
// connection (rollback journal, not WAL), its own tables and rows, and the given
// application id (0 for none, as most programs leave it).
func writeForeignDB(t *testing.T, path string, appID int, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range append(stmts, "PRAGMA application_id = "+itoa(appID)) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// applicationIDOf reads the application id of an open store.
func applicationIDOf(t *testing.T, s *Store) int32 {
	t.Helper()
	var id int32
	if err := s.db.QueryRow("PRAGMA application_id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestForeignDatabaseIsMovedAside puts another program's SQLite file at our path: it
// must be moved aside untouched (no table of ours added, not turned to WAL), and a
// new store started. Issue 20 item 4.
func TestForeignDatabaseIsMovedAside(t *testing.T) {
	for _, tc := range []struct {
		name  string
		appID int
		stmts []string
	}{
		{"other tables", 0, []string{
			"CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)",
			"INSERT INTO moz_places(url) VALUES ('https://example.org/')",
		}},
		// Today's migration 1 fails on it: "table settings already exists".
		{"settings of another shape", 0, []string{
			"CREATE TABLE settings (name TEXT, enabled INTEGER)",
			"INSERT INTO settings VALUES ('theme', 1)",
		}},
		// Another program's tables, even at a schema version we know.
		{"other tables at version 1", 0, []string{
			"CREATE TABLE notes (body TEXT)",
			"PRAGMA user_version = 1",
		}},
		// Another program that stamps its own id (Fossil's), with no table at all.
		{"other application id", 0x0f055112, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := testCtx(t)
			path := filepath.Join(dir, DBName)
			writeForeignDB(t, path, tc.appID, tc.stmts...)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			s, rec, err := OpenOrRecover(ctx, dir)
			if err != nil {
				t.Fatalf("OpenOrRecover: %v", err)
			}
			defer s.Close()
			t.Logf("Recovery: moved to %q, reason: %v", rec.MovedTo, rec.Reason)
			if rec.MovedTo == "" {
				t.Fatal("the foreign database was not moved aside")
			}
			if !errors.Is(rec.Reason, ErrForeign) || !strings.Contains(rec.Reason.Error(), "not a Convergence database") {
				t.Errorf("Reason = %v, want ErrForeign saying what the file is", rec.Reason)
			}
			if errors.Is(rec.Reason, ErrCorrupt) {
				t.Errorf("Reason = %v: a foreign database is not corrupt", rec.Reason)
			}
			moved, err := os.ReadFile(rec.MovedTo)
			if err != nil || !bytes.Equal(moved, before) {
				t.Errorf("the moved file differs from the foreign one (err %v)", err)
			}
			for _, suf := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(rec.MovedTo + suf); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a %s file was made beside the foreign database: %v", suf, err)
				}
			}
			if err := s.SaveSettings(ctx, Defaults()); err != nil {
				t.Errorf("the new store does not work: %v", err)
			}
			if got := applicationIDOf(t, s); got != ApplicationID {
				t.Errorf("new store's application id = %#x, want %#x", got, ApplicationID)
			}
		})
	}
}

// TestStoreOfOursWithoutApplicationID opens a store made before the application id
// existed (the first migration only, id 0, WAL as Open made it): it is ours, keeps
// its data, is brought up to date and gets the id.
func TestStoreOfOursWithoutApplicationID(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	path := filepath.Join(dir, DBName)
	writeForeignDB(t, path, 0,
		"PRAGMA journal_mode = WAL",
		migrations[0],
		"PRAGMA user_version = 1",
		`INSERT INTO pins(host, port, fingerprint, note, created) VALUES ('example.org', 443, 'AB:CD', 'kept', 1)`,
	)

	s, rec, err := OpenOrRecover(ctx, dir)
	if err != nil {
		t.Fatalf("OpenOrRecover: %v", err)
	}
	defer s.Close()
	if rec.MovedTo != "" {
		t.Fatalf("a store of ours was moved aside: %+v", rec)
	}
	pins, err := s.Pins(ctx)
	if err != nil || len(pins) != 1 || pins[0].Note != "kept" {
		t.Errorf("Pins = %+v, %v; want the pin made before", pins, err)
	}
	if v, err := userVersion(ctx, s.db); err != nil || v != len(migrations) {
		t.Errorf("schema version %d, %v; want %d", v, err, len(migrations))
	}
	if got := applicationIDOf(t, s); got != ApplicationID {
		t.Errorf("application id = %#x, want %#x", got, ApplicationID)
	}
}
