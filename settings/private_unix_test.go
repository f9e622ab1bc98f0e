//go:build unix

package settings

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// withUmask sets the process umask for the rest of the test. No test in this package
// runs in parallel, so nothing else creates files meanwhile.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// wantMode fails the test unless path has exactly the permission bits want.
func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Errorf("%s: %v", filepath.Base(path), err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %#o, want %#o", filepath.Base(path), got, want)
	}
}

// TestOpenCreatesPrivateFiles: the data dir is 0700 and the database with its -wal and
// -shm files 0600, whatever the umask (022 is the usual one; 0 grants what is asked).
func TestOpenCreatesPrivateFiles(t *testing.T) {
	for _, mask := range []int{0o022, 0o000} {
		t.Run(fmt.Sprintf("umask %03o", mask), func(t *testing.T) {
			withUmask(t, mask)
			ctx := testCtx(t)
			dir := filepath.Join(t.TempDir(), "convergence")
			s, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.AddPin(ctx, "example.com", 443, strings.Repeat("ab", 32), "a write"); err != nil {
				t.Fatal(err)
			}
			wantMode(t, dir, 0o700)
			for _, suffix := range []string{"", "-wal", "-shm"} {
				wantMode(t, filepath.Join(dir, DBName+suffix), 0o600)
			}
			if err := NewFileSecrets(dir).Set("k", []byte("secret")); err != nil {
				t.Fatal(err)
			}
			wantMode(t, filepath.Join(dir, secretsDirName), 0o700)
			wantMode(t, filepath.Join(dir, secretsDirName, "k"), 0o600)

			d, err := DataDir(filepath.Join(t.TempDir(), "other"))
			if err != nil {
				t.Fatal(err)
			}
			wantMode(t, d, 0o700)
		})
	}
}

// TestOpenRestrictsLooseDataDir: a data dir left readable by others (as versions before
// made it) is made private at Open: the dir 0700, the database, its companions, the
// copies moved aside and the secret files 0600. Files that are not Convergence's are
// left alone, and no bit is ever added.
func TestOpenRestrictsLooseDataDir(t *testing.T) {
	withUmask(t, 0o022)
	ctx := testCtx(t)
	dir := t.TempDir()
	first, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close() // keeps -wal and -shm in place, as a running app does
	if err := NewFileSecrets(dir).Set("k", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	write := func(name string, mode fs.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(DBName+".broken-20240101T000000Z", 0o644)
	write(DBName+".broken-20240102T000000Z", 0o444) // made read-only by the user
	write("notes.txt", 0o644)                       // not ours
	loose := map[string]fs.FileMode{
		".":                                     0o755,
		DBName:                                  0o644,
		DBName + "-wal":                         0o664,
		DBName + "-shm":                         0o666,
		secretsDirName:                          0o755,
		filepath.Join(secretsDirName, "k"):      0o644,
		DBName + ".broken-20240101T000000Z":     0o644,
		filepath.Join(secretsDirName, "legacy"): 0o640,
	}
	write(filepath.Join(secretsDirName, "legacy"), 0o640)
	for name, mode := range loose {
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantMode(t, dir, 0o700)
	for name := range loose {
		if name == "." || name == secretsDirName {
			continue
		}
		wantMode(t, filepath.Join(dir, name), 0o600)
	}
	wantMode(t, filepath.Join(dir, secretsDirName), 0o700)
	wantMode(t, filepath.Join(dir, DBName+".broken-20240102T000000Z"), 0o400)
	wantMode(t, filepath.Join(dir, "notes.txt"), 0o644)
	if _, err := s.Settings(ctx); err != nil {
		t.Errorf("the restricted store does not read: %v", err)
	}
}

func TestRestrict(t *testing.T) {
	dir := t.TempDir()
	if err := Restrict(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing path: %v, want nil", err)
	}
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for mode, want := range map[fs.FileMode]fs.FileMode{0o777: 0o700, 0o644: 0o600, 0o600: 0o600, 0o440: 0o400, 0o000: 0o000} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := Restrict(p); err != nil {
			t.Fatalf("%#o: %v", mode, err)
		}
		fi, _ := os.Stat(p)
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("Restrict of a %#o file: %#o, want %#o", mode, got, want)
		}
	}
}
