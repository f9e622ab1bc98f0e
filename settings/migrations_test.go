package settings

import (
	"testing"
)

// withMigrations runs the test with extra steps appended to the schema, as a later
// build would have them. Tests in this package do not run in parallel.
func withMigrations(t *testing.T, extra ...string) {
	t.Helper()
	saved := migrations
	migrations = append(append([]string(nil), saved...), extra...)
	t.Cleanup(func() { migrations = saved })
}

func TestMigrationUpgradesAndFailedStepRollsBack(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvent(ctx, Event{Kind: "before"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	v1 := len(migrations)

	t.Run("a failing step", func(t *testing.T) {
		// The first statement would work, the second fails: neither may stay.
		withMigrations(t, "ALTER TABLE events ADD COLUMN half TEXT; THIS IS NOT SQL;")
		if _, err := Open(ctx, dir); err == nil {
			t.Fatal("Open succeeded with a broken migration")
		}
	})
	t.Run("the old build still opens it", func(t *testing.T) {
		s := openTest(t, dir)
		if v, err := userVersion(ctx, s.db); err != nil || v != v1 {
			t.Fatalf("user_version = %d, %v; want %d (the failed step rolled back)", v, err, v1)
		}
		if _, err := s.db.ExecContext(ctx, "SELECT half FROM events"); err == nil {
			t.Error("the failed step's first statement stayed")
		}
		s.Close()
	})
	t.Run("two new steps", func(t *testing.T) {
		withMigrations(t,
			"ALTER TABLE events ADD COLUMN extra TEXT NOT NULL DEFAULT 'x';",
			"CREATE TABLE later (id INTEGER PRIMARY KEY) STRICT;")
		s := openTest(t, dir)
		if v, err := userVersion(ctx, s.db); err != nil || v != v1+2 {
			t.Fatalf("user_version = %d, %v; want %d", v, err, v1+2)
		}
		var kind, extra string
		if err := s.db.QueryRowContext(ctx, "SELECT kind, extra FROM events").Scan(&kind, &extra); err != nil || kind != "before" || extra != "x" {
			t.Errorf("event after upgrade = %q, %q, %v", kind, extra, err)
		}
		if _, err := s.db.ExecContext(ctx, "INSERT INTO later(id) VALUES(1)"); err != nil {
			t.Errorf("second step missing: %v", err)
		}
	})
}
