//go:build unix

package localproxy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/convergence-ng/convergence/settings"
)

// TestCAFilePrivate: ca.pem is 0600 like everything in the data dir, when created,
// regenerated, and when an earlier version left it 0644. (writeFileAtomic sets the mode
// with fchmod, so the umask does not matter.)
func TestCAFilePrivate(t *testing.T) {
	dir, secrets := t.TempDir(), settings.NewMemorySecrets()
	path := filepath.Join(dir, CACertFile)
	want := func(when string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: ca.pem mode %#o, want 0600", when, got)
		}
	}
	if _, err := LoadOrCreateCA(dir, secrets); err != nil {
		t.Fatal(err)
	}
	want("created")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir, secrets); err != nil {
		t.Fatal(err)
	}
	want("loaded after an earlier version made it 0644")
	if _, err := RegenerateCA(dir, secrets); err != nil {
		t.Fatal(err)
	}
	want("regenerated")
}
