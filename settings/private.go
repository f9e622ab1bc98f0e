package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The modes of the data dir and of what Convergence keeps in it. Nobody else on the
// computer may read them: the database holds the history of the sites visited (a
// browsing log), and the secrets folder holds the local CA's key when no keyring works.
const (
	PrivateDirMode  fs.FileMode = 0o700
	PrivateFileMode fs.FileMode = 0o600
)

// Restrict takes the group and other permission bits off path (a folder or a file,
// symbolic links followed), so that one made readable by others, as versions before
// this one made the data dir's files, ends 0700 or 0600. It never adds a bit: a file
// the user made read-only stays read-only. A missing path is not an error. It does
// nothing on Windows, where files have no such bits (the data dir under %AppData% is
// private to the user there).
func Restrict(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return os.Chmod(path, perm&^0o077)
	}
	return nil
}

// restrictDataDir makes dir and what settings keeps in it private (Restrict): the
// database and its companions (-wal, -shm, -journal, the copies moved aside as
// .broken-*) and the secrets folder with its files. It leaves other entries alone, so
// a data dir pointed at a folder that holds other files (--data-dir ~) does not have
// those changed; the local CA restricts its own files (localproxy).
func restrictDataDir(dir string) error {
	fail := func(path string, err error) error {
		return &DirError{Dir: dir, Op: "restrict", Err: fmt.Errorf("%q: %w", path, err),
			Hint: fmt.Sprintf("make it private yourself (chmod 700 %q, and chmod 600 on its files) or choose another data dir with --data-dir or %s", dir, EnvHome)}
	}
	if err := Restrict(dir); err != nil {
		return fail(dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &DirError{Dir: dir, Op: "open", Err: err, Hint: dirHint(dir)}
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, DBName) && name != secretsDirName {
			continue
		}
		path := filepath.Join(dir, name)
		if err := Restrict(path); err != nil {
			return fail(path, err)
		}
		if name != secretsDirName {
			continue
		}
		secrets, err := os.ReadDir(path)
		if err != nil {
			return fail(path, err)
		}
		for _, s := range secrets {
			p := filepath.Join(path, s.Name())
			if err := Restrict(p); err != nil {
				return fail(p, err)
			}
		}
	}
	return nil
}

// createPrivate creates path empty with mode PrivateFileMode when it does not exist.
// SQLite creates a database 0644 (less the umask) but its -wal, -shm and -journal files
// with the database file's own mode, set with fchmod whatever the umask: a database
// made 0600 first keeps all four private.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, PrivateFileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask may have taken more bits than the group's and others'.
	err = f.Chmod(PrivateFileMode)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
