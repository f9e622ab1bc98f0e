package settings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvHome names the environment variable that overrides the per-OS data dir; the
// --data-dir flag, passed to DataDir as override, wins over it.
const EnvHome = "CONVERGENCE_HOME"

// ErrDirNotUsable is matched (errors.Is) by every *DirError: the data dir cannot be
// created or written.
var ErrDirNotUsable = errors.New("data dir not usable")

// DirError reports a data dir that cannot be created or written, with a hint that
// names the fix. It matches ErrDirNotUsable and the underlying error.
type DirError struct {
	Dir  string // the directory, absolute when known
	Op   string // what failed, e.g. "create" or "write in"
	Err  error  // the underlying error
	Hint string // one sentence naming the fix, for a dialog or a "hint:" line
}

// Error names the dir, what failed and the fix.
func (e *DirError) Error() string {
	return fmt.Sprintf("failed to %s data dir %q: %v (%s)", e.Op, e.Dir, e.Err, e.Hint)
}

// Unwrap returns ErrDirNotUsable and the underlying error.
func (e *DirError) Unwrap() []error { return []error{ErrDirNotUsable, e.Err} }

func dirHint(dir string) string {
	return fmt.Sprintf("make %q a directory your user can write (check its owner and mode, for example chmod u+rwx, and that its file system is not mounted read-only) or choose another one with --data-dir or %s", dir, EnvHome)
}

// DataDir returns the data dir and creates it (mode 0700) when missing. The override
// (the --data-dir flag) wins, then the CONVERGENCE_HOME environment variable, then the
// per-OS default: $XDG_DATA_HOME/convergence or ~/.local/share/convergence on Linux,
// ~/Library/Application Support/Convergence on macOS, %AppData%\Convergence on
// Windows. A relative override is made absolute. A dir that cannot be created gives a
// *DirError.
func DataDir(override string) (string, error) {
	dir := override
	if dir == "" {
		dir = os.Getenv(EnvHome)
	}
	if dir == "" {
		d, err := defaultDataDir()
		if err != nil {
			return "", fmt.Errorf("failed to find data dir (set --data-dir or %s): %w", EnvHome, err)
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("failed to resolve data dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, PrivateDirMode); err != nil {
		return "", &DirError{Dir: abs, Op: "create", Err: err, Hint: dirHint(abs)}
	}
	return abs, nil
}

// checkWritable proves dir is a directory we can create files in, by creating and
// removing a probe file: mode bits alone do not tell (root, read-only mounts, ACLs,
// immutable flags).
func checkWritable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return &DirError{Dir: dir, Op: "open", Err: err, Hint: dirHint(dir)}
	}
	if !fi.IsDir() {
		return &DirError{Dir: dir, Op: "open", Err: errors.New("not a directory"), Hint: dirHint(dir)}
	}
	f, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return &DirError{Dir: dir, Op: "write in", Err: err, Hint: dirHint(dir)}
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return &DirError{Dir: dir, Op: "write in", Err: err, Hint: dirHint(dir)}
	}
	return nil
}
