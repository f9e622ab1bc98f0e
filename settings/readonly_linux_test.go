//go:build linux

package settings

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// fsImmutableFL is FS_IMMUTABLE_FL from linux/fs.h (not in x/sys/unix).
const fsImmutableFL = 0x10

// makeReadOnly makes path really read-only, for root too: as root (which ignores
// mode bits) it sets the immutable attribute (chattr +i), which even root cannot
// write through; otherwise it clears the write bits. The test's cleanup undoes it so
// t.TempDir can be removed.
func makeReadOnly(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, fi.Mode().Perm()&^0o222); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(path, fi.Mode().Perm()) })
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags|fsImmutableFL)
	}
	if err != nil {
		t.Skipf("cannot make %q immutable on this file system as root: %v", path, err)
	}
	t.Cleanup(func() {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags&^fsImmutableFL); err != nil {
			t.Errorf("failed to clear the immutable flag on %q: %v", path, err)
		}
	})
}

func TestOpenReadOnlyDataDir(t *testing.T) {
	ctx := testCtx(t)
	t.Run("empty dir", func(t *testing.T) {
		dir := t.TempDir()
		makeReadOnly(t, dir)
		_, err := Open(ctx, dir)
		checkDirError(t, err, dir)
	})
	t.Run("dir with a database", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		makeReadOnly(t, dir)
		_, _, err = OpenOrRecover(ctx, dir)
		checkDirError(t, err, dir)
	})
	t.Run("read-only database file", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		makeReadOnly(t, filepath.Join(dir, DBName))
		_, err = Open(ctx, dir)
		checkDirError(t, err, dir)
	})
	t.Run("DataDir under a read-only parent", func(t *testing.T) {
		parent := t.TempDir()
		makeReadOnly(t, parent)
		want := filepath.Join(parent, "convergence")
		_, err := DataDir(want)
		checkDirError(t, err, want)
	})
}
