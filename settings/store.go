package settings

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DBName is the database file's name inside the data dir.
const DBName = "convergence.db"

// Errors callers branch on.
var (
	// ErrCorrupt means the database file is not a database or fails its integrity
	// check. OpenOrRecover moves such a file aside.
	ErrCorrupt = errors.New("database is corrupt")
	// ErrNewerSchema means the database was written by a newer build of Convergence
	// (its schema version is higher than this build knows). OpenOrRecover moves it aside.
	ErrNewerSchema = errors.New("database was written by a newer version of Convergence")
	// ErrNotFound is returned when a notary, cache entry or pin does not exist.
	ErrNotFound = errors.New("not found")
)

// busyTimeout is how long a writer waits for another writer (another connection or
// another process) before SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Store is the one SQLite database (WAL mode, foreign keys on, 5 s busy timeout). It
// is safe for concurrent use: a Store's writes are serialised and each runs in one
// transaction (BEGIN IMMEDIATE, so a writer in another process waits on the busy
// timeout instead of failing on a lock upgrade); reads run beside writes, and
// multi-query reads run in a read transaction and see one snapshot.
type Store struct {
	db   *sql.DB
	path string
	// wmu serialises this Store's write transactions, so its goroutines queue here
	// instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms.
	// Writers in other processes still meet the busy timeout.
	wmu      sync.Mutex
	eventCap int              // events kept by AddEvent; a field so tests can lower it
	cacheCap int              // cached verdicts kept by PutCache; a field so tests can lower it
	now      func() time.Time // clock for timestamps the caller leaves zero
	marker   string           // this Store's open marker (openmarker.go), removed by Close
	checked  bool             // Open ran quick_check (an unclean shutdown was found)

	full      atomic.Bool // the last write failed for lack of space (diskfull.go)
	hookMu    sync.Mutex  // protects fullHooks
	fullHooks []func()    // run when full changes (OnDiskFullChange)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close checkpoints and truncates the write-ahead log (best effort: another process
// may still read it), closes the database, then removes the Store's open marker: the
// next Open skips the integrity check (see markerPrefix). A failed close leaves the
// marker. In WAL mode the last connection to close also checkpoints the log into the
// main file and removes it.
func (s *Store) Close() error {
	s.wmu.Lock()
	s.checkpoint(context.Background())
	s.wmu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("failed to close database %q: %w", s.path, err)
	}
	return removeMarker(s.marker)
}

// dsn builds the driver's name for path. Pragmas go in the DSN (_pragma=...) so every
// pooled connection gets them, not only the first. synchronous=FULL makes a commit
// durable across power loss, not only across a process crash: the store is small and
// writes are few, so the fsync per commit is cheap. wal_autocheckpoint and
// journal_size_limit bound the write-ahead log to WALSizeLimit: by default SQLite
// lets it reach 4 MiB before a checkpoint and never shrinks it, which on a small disk
// filled it with log that no checkpoint could then move (diskfull.go).
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", WALSizeLimit/walPageSize))
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", WALSizeLimit))
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// sqliteMagic starts every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// Open opens dir/convergence.db, creating it (and dir, mode 0700) when missing, and
// brings its schema up to date. The database and its companion files are created 0600;
// a dir or database files readable by others (made by earlier versions) are made
// private first (Restrict). A file that is not a database, or fails its integrity
// check after an unclean shutdown (the check is skipped after a clean Close: see
// markerPrefix), gives ErrCorrupt; a schema newer than this build gives ErrNewerSchema;
// another program's SQLite database gives ErrForeign (owner.go); in all three
// cases the file is left as it was (OpenOrRecover moves it aside). A dir that cannot
// be written gives a *DirError naming the fix.
func Open(ctx context.Context, dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve data dir %q: %w", dir, err)
	}
	if strings.ContainsRune(abs, '?') {
		// The driver splits its name at the first '?'.
		return nil, &DirError{Dir: abs, Op: "use", Err: errors.New("the path contains '?'"), Hint: "choose a data dir without '?' in its path with --data-dir or " + EnvHome}
	}
	if err := os.MkdirAll(abs, PrivateDirMode); err != nil {
		return nil, &DirError{Dir: abs, Op: "create", Err: err, Hint: dirHint(abs)}
	}
	// Before anything is read or written: earlier versions left the dir and its files
	// readable by others.
	if err := restrictDataDir(abs); err != nil {
		return nil, err
	}
	if err := checkWritable(abs); err != nil {
		return nil, err
	}
	path := filepath.Join(abs, DBName)
	if err := checkFile(path); err != nil {
		return nil, err
	}
	if err := checkOwner(ctx, path); err != nil {
		return nil, err
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("failed to create database %q: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("failed to open database %q: %w", path, err)
	}
	s := &Store{db: db, path: path, eventCap: DefaultEventCap, cacheCap: DefaultCacheCap, now: time.Now}
	if err := s.init(ctx, abs); err != nil {
		db.Close()
		if s.marker != "" {
			removeMarker(s.marker)
		}
		return nil, err
	}
	return s, nil
}

// checkFile looks at the file before SQLite does: a file that does not start with the
// SQLite magic is never handed to SQLite (which could write to it), and a file we may
// not write would otherwise be opened read-only silently.
func checkFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		dir := filepath.Dir(path)
		return &DirError{Dir: dir, Op: "write in", Err: err, Hint: fmt.Sprintf("make %q writable (for example chmod u+rw %q) or choose another data dir with --data-dir or %s", path, path, EnvHome)}
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if n == 0 && (err == io.EOF) {
		return nil // an empty file is an empty database
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("failed to read database %q: %w", path, err)
	}
	if !bytes.Equal(head[:n], sqliteMagic) {
		return fmt.Errorf("failed to open database %q: %w: the file is not a SQLite database", path, ErrCorrupt)
	}
	return nil
}

// init checks the file's health when the last shutdown was not clean (a marker of no
// Store of ours is in dir), leaves this Store's marker, then checks the version and
// migrates.
func (s *Store) init(ctx context.Context, dir string) error {
	left, err := foreignMarkers(dir)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		if err := s.quickCheck(ctx); err != nil {
			return err
		}
		s.checked = true
	}
	if s.marker, err = createMarker(dir); err != nil {
		return err
	}
	if err := s.claim(ctx); err != nil {
		return s.classify("claim", err)
	}
	if err := s.migrate(ctx); err != nil {
		return s.classify("migrate", err)
	}
	// Only now: had the check or the migration failed, the next open must check again.
	return removeDeadMarkers(left)
}

// quickCheck runs PRAGMA quick_check: ErrCorrupt unless it says ok.
func (s *Store) quickCheck(ctx context.Context) error {
	var check string
	if err := s.db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return s.classify("check", err)
	}
	if check != "ok" {
		return fmt.Errorf("failed to check database %q: %w: %s", s.path, ErrCorrupt, check)
	}
	return nil
}

// classify maps SQLite's "not a database" and "corrupt" result codes to ErrCorrupt.
func (s *Store) classify(verb string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("failed to %s database %q: %w: %v", verb, s.path, ErrCorrupt, err)
		}
	}
	return fmt.Errorf("failed to %s database %q: %w", verb, s.path, err)
}

// Recovery says what OpenOrRecover did with a database it could not use. The zero
// value means nothing was moved.
type Recovery struct {
	MovedTo string // where the old file went, e.g. ".../convergence.db.broken-20261128T131500Z"
	Reason  error  // why: wraps ErrCorrupt, ErrNewerSchema or ErrForeign
}

// OpenOrRecover opens the store like Open. When Open fails with ErrCorrupt,
// ErrNewerSchema or ErrForeign it moves the database (and its -wal, -shm and -journal files, renamed
// alike) aside to convergence.db.broken-<UTC timestamp> (never deleting, never
// overwriting), opens a fresh database and returns what it did, so the app can tell
// the user where the old file is. Other errors are returned as they are.
func OpenOrRecover(ctx context.Context, dir string) (*Store, Recovery, error) {
	s, err := Open(ctx, dir)
	if err == nil || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerSchema) || errors.Is(err, ErrForeign)) {
		return s, Recovery{}, err
	}
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		return nil, Recovery{}, fmt.Errorf("failed to resolve data dir %q: %w", dir, aerr)
	}
	moved, merr := moveAside(filepath.Join(abs, DBName), time.Now())
	if merr != nil {
		return nil, Recovery{}, errors.Join(err, merr)
	}
	rec := Recovery{MovedTo: moved, Reason: err}
	s, err = Open(ctx, dir)
	if err != nil {
		return nil, rec, fmt.Errorf("failed to open a fresh database after moving the old one to %q: %w", moved, err)
	}
	return s, rec, nil
}

// moveAside renames path and its companion files to path.broken-<timestamp>[-N],
// choosing a name no file has, and returns the new name of path.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".broken-" + now.UTC().Format("20060102T150405Z")
	suffixes := []string{"", "-wal", "-shm", "-journal"}
	for i := 0; i < 100; i++ {
		target := base
		if i > 0 {
			target = fmt.Sprintf("%s-%d", base, i)
		}
		if anyExists(target, suffixes) {
			continue
		}
		for _, suf := range suffixes {
			err := os.Rename(path+suf, target+suf)
			if err != nil && !(suf != "" && errors.Is(err, os.ErrNotExist)) {
				return "", fmt.Errorf("failed to move database %q aside to %q: %w", path+suf, target+suf, err)
			}
		}
		return target, nil
	}
	return "", fmt.Errorf("failed to move database %q aside: 100 names starting %q are taken", path, base)
}

func anyExists(base string, suffixes []string) bool {
	for _, suf := range suffixes {
		if _, err := os.Lstat(base + suf); !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// write runs fn in a write transaction and commits it. When the disk is full it
// checkpoints the log (which gives back the space of pages written more than once)
// and, if that worked, runs fn once more in a new transaction; an error that remains
// wraps ErrDiskFull. It keeps DiskFull up to date.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	err := s.writeOnce(ctx, fn)
	if isDiskFull(err) && ctx.Err() == nil && s.checkpoint(ctx) {
		err = s.writeOnce(ctx, fn)
	}
	changed := s.noteWrite(err)
	s.wmu.Unlock()
	if changed {
		s.fullChanged()
	}
	if isDiskFull(err) {
		return &fullError{err}
	}
	return err
}

// writeOnce runs fn in one write transaction. s.wmu must be held.
func (s *Store) writeOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// read runs fn in a read transaction so its queries see one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// nanos and fromNanos store times as Unix nanoseconds; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
