// Package unwritable is test support: it makes a directory and its files unchangeable
// for the rest of a test, also for root, to test what a store that cannot be written does.
package unwritable

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dir makes dir and the files in it unchangeable until the test ends: read-only for a
// user, immutable (chattr +i) for root, whom file modes do not stop. The test is skipped
// when chattr is not available to root.
func Dir(t testing.TB, dir string) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*"))
	paths = append(paths, dir)
	if os.Geteuid() != 0 {
		for _, p := range paths {
			if err := os.Chmod(p, 0o500); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			for _, p := range paths {
				_ = os.Chmod(p, 0o700)
			}
		})
		return
	}
	if out, err := exec.Command("chattr", append([]string{"+i"}, paths...)...).CombinedOutput(); err != nil {
		t.Skipf("chattr +i (needed to make a store unwritable for root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", append([]string{"-i"}, paths...)...).CombinedOutput(); err != nil {
			t.Errorf("chattr -i: %v %s", err, out)
		}
	})
}
