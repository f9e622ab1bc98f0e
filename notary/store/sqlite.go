package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// SQLite is a Store in one SQLite file (WAL mode), through the pure-Go modernc driver.
type SQLite struct {
	db      *sql.DB
	history *sql.Stmt // prepared once (on each connection of the pool, by database/sql)
	closed  atomic.Bool
	prune   leasePruner
}

// OpenSQLite opens or creates the store at path.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(5000)", "synchronous(NORMAL)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("failed to open store %q: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if err := migrateSQLite(ctx, db, path); err != nil {
		db.Close()
		return nil, err
	}
	return prepareSQLite(ctx, db, path)
}

// historyQuery is the read of one target's history.
const historyQuery = `
SELECT sha256, sha1, first_seen, last_seen, cert, ca_valid, ca_detail
FROM observations WHERE target = ? ORDER BY last_seen DESC, first_seen DESC, sha256 LIMIT ?`

// prepareSQLite prepares the statements of the read path once; parsing and planning
// the history read anew per answer was a third of a cached answer's time.
func prepareSQLite(ctx context.Context, db *sql.DB, path string) (*SQLite, error) {
	hist, err := db.PrepareContext(ctx, historyQuery)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to prepare the history read in %q: %w", path, err)
	}
	return &SQLite{db: db, history: hist}, nil
}

// Record implements Store.
func (s *SQLite) Record(ctx context.Context, target string, at time.Time, seen []Sighting) error {
	if s.closed.Load() {
		return ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin record of %q: %w", target, err)
	}
	defer tx.Rollback()
	for _, o := range seen {
		_, err := tx.ExecContext(ctx, `
INSERT INTO observations (target, sha256, sha1, first_seen, last_seen, cert, ca_valid, ca_detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (target, sha256) DO UPDATE SET
	last_seen = max(last_seen, excluded.last_seen),
	first_seen = min(first_seen, excluded.first_seen),
	ca_valid = excluded.ca_valid,
	ca_detail = excluded.ca_detail`,
			target, o.SHA256, o.SHA1, at.Unix(), at.Unix(), o.DER, o.CAValid, o.CADetail)
		if err != nil {
			return fmt.Errorf("failed to record %q for %q: %w", o.SHA256, target, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit record of %q: %w", target, err)
	}
	return nil
}

// History implements Store.
func (s *SQLite) History(ctx context.Context, target string) ([]Observation, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.history.QueryContext(ctx, target, MaxHistory)
	if err != nil {
		return nil, fmt.Errorf("failed to read history of %q: %w", target, err)
	}
	defer rows.Close()
	var out []Observation
	for rows.Next() {
		var o Observation
		var first, last int64
		if err := rows.Scan(&o.SHA256, &o.SHA1, &first, &last, &o.DER, &o.CAValid, &o.CADetail); err != nil {
			return nil, fmt.Errorf("failed to read history of %q: %w", target, err)
		}
		o.FirstSeen, o.LastSeen = time.Unix(first, 0), time.Unix(last, 0)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read history of %q: %w", target, err)
	}
	return out, nil
}

// Close implements Store.
func (s *SQLite) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	_ = s.history.Close() // closed with the pool anyway; db.Close reports the error
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("failed to close store: %w", err)
	}
	return nil
}
