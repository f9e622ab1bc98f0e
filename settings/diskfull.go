package settings

import (
	"context"
	"errors"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A full disk (issue 20 item 3). On a 1 MiB data dir the write-ahead log grew to
// 942 KB, because SQLite's automatic checkpoint waits for 1,000 pages (4 MiB) of log,
// and stayed: a checkpoint must grow the database file by what the log holds, which
// the log's own size left no room for, so even a clean close left it. Now the log is
// checkpointed at WALSizeLimit and truncated to it (the DSN's pragmas), a write that
// fails for lack of space checkpoints with TRUNCATE and is tried once more, the next
// write that succeeds truncates again, and Close truncates before it closes.

// ErrDiskFull is wrapped by the error of a write that failed because the disk (or the
// file system's quota) is full. The store recovers by itself once space is freed:
// later writes succeed, and DiskFull clears.
var ErrDiskFull = errors.New("the disk is full")

// WALSizeLimit bounds the write-ahead log: SQLite checkpoints it once it holds this
// much (wal_autocheckpoint) and truncates it back to this size when it restarts
// (journal_size_limit). A write transaction bigger than this still grows it beyond,
// until the next checkpoint.
const WALSizeLimit = 256 << 10

// walPageSize is SQLite's default page size, which the store keeps.
const walPageSize = 4096

// fullError is a write's error when the disk is full: it reads as SQLite's error and
// matches ErrDiskFull.
type fullError struct{ err error }

func (e *fullError) Error() string   { return e.err.Error() }
func (e *fullError) Unwrap() []error { return []error{ErrDiskFull, e.err} }

// isDiskFull reports whether err is SQLite's "database or disk is full" or ENOSPC.
func isDiskFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// DiskFull reports whether the store's last write failed because the disk is full.
// The next write that succeeds clears it. Safe for concurrent use; it does no I/O.
func (s *Store) DiskFull() bool { return s.full.Load() }

// OnDiskFullChange registers fn to run each time DiskFull changes (call DiskFull for
// the new value: two changes close together may be reported out of order). fn runs on
// the goroutine that wrote, after the write, and must return quickly.
func (s *Store) OnDiskFullChange(fn func()) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.fullHooks = append(s.fullHooks, fn)
}

// noteWrite records a write's outcome for DiskFull and reports whether DiskFull
// changed. s.wmu must be held.
func (s *Store) noteWrite(err error) (changed bool) {
	switch {
	case err == nil:
		if s.full.Swap(false) {
			// The log grew while checkpoints failed: give its space back now.
			s.checkpoint(context.Background())
			return true
		}
	case isDiskFull(err):
		return !s.full.Swap(true)
	}
	return false
}

// fullChanged runs the hooks registered with OnDiskFullChange. s.wmu must not be held.
func (s *Store) fullChanged() {
	s.hookMu.Lock()
	hooks := append([]func(){}, s.fullHooks...)
	s.hookMu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

// checkpoint copies the write-ahead log into the database and truncates it, and
// reports whether it did it all. It is best effort: on a full disk the database
// cannot grow to take the log, and readers (in other processes too) may hold it.
func (s *Store) checkpoint(ctx context.Context) bool {
	var busy, logPages, done int
	err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done)
	return err == nil && busy == 0
}
