//go:build unix

package cli

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
)

// TestDataDirPrivate: after the commands that write (the store, the local CA, the
// secrets, whichever of keyring and files works here) every folder in the data dir is
// 0700 and every file 0600, under the usual umask 022. The history is a browsing log.
func TestDataDirPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // no test here runs in parallel
	t.Cleanup(func() { syscall.Umask(old) })
	e := cliEnv{t: t, dir: filepath.Join(t.TempDir(), "convergence")}
	e.mustRun("ca", "export")
	e.mustRun("notary", "add", testnotary.Start(t, t.TempDir(), "private", keys.KeyECDSA, 1))
	e.mustRun("set", "cache-ttl", "1h")
	files := 0
	err := filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %#o, want %#o", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 { // the database and ca.pem at least
		t.Errorf("the data dir holds %d files, want the database and ca.pem at least", files)
	}
}
