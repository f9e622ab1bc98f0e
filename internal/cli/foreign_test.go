package cli

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/settings"
	_ "modernc.org/sqlite"
)

// TestForeignDatabaseWarning puts another program's SQLite file where the store goes:
// the command works on a new store and the terminal says what the file was and where
// it went (issue 20 item 4).
func TestForeignDatabaseWarning(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	db, err := sql.Open("sqlite", filepath.Join(e.dir, settings.DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs := e.run("settings")
	t.Logf("stderr: %s", errs)
	if code != 0 || out == "" {
		t.Fatalf("settings on a foreign database: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	moved, _ := filepath.Glob(filepath.Join(e.dir, settings.DBName+".broken-*"))
	if len(moved) != 1 {
		t.Fatalf("moved aside: %v, want one file", moved)
	}
	for _, want := range []string{"warning: ", "is not a Convergence database", `"moz_places"`, "moved, unchanged, to " + moved[0], "new one started"} {
		if !strings.Contains(errs, want) {
			t.Errorf("warning %q does not say %q", errs, want)
		}
	}
	if _, err := os.Stat(moved[0]); err != nil {
		t.Error(err)
	}
}
