package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is a store in a PostgreSQL database that several notary processes share (a
// fleet): what one probes answers for all, and the probe leases keep one probe per
// target across them. pgx is pure Go: the notary still builds with CGO_ENABLED=0.
type Postgres struct {
	pool   *pgxpool.Pool
	where  string // the URL without its password, for messages
	closed atomic.Bool
	prune  leasePruner
}

// migrationLock is the advisory lock key members take while migrating, so members
// started together migrate one after the other ("cvgnotary" in ASCII, as a number).
const migrationLock = 0x637667_6e6f74

// OpenPostgres connects to the database at url (postgres://user:pass@host/db?...),
// migrating its schema to the last version.
func OpenPostgres(ctx context.Context, rawURL string) (*Postgres, error) {
	where := redact(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("failed to parse store URL %q: %w (hint: postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full)", where, err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A server that went away must fail a call in seconds, not hang it (a dial to a
		// host that drops packets has no end of its own); connect_timeout in the URL wins.
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to store %q: %w", where, err)
	}
	s := &Postgres{pool: pool, where: where}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// redact drops the password from a store URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

func (s *Postgres) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("failed to connect to store %q: %w (hint: check that PostgreSQL runs there and the user may connect)", s.where, err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("failed to lock %q for migration: %w", s.where, err)
	}
	if _, err := tx.Exec(ctx, migrationsTable); err != nil {
		return fmt.Errorf("failed to create the migrations table in %q: %w (hint: the user needs CREATE on the database's schema)", s.where, err)
	}
	var version int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("failed to read the schema version of %q: %w", s.where, err)
	}
	steps, err := pending(postgresMigrations, version, fmt.Sprintf("%q", s.where))
	if err != nil {
		return err
	}
	for _, m := range steps {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("failed to migrate %q to version %d (%s): %w", s.where, m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("failed to record migration %d of %q: %w", m.version, s.where, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("failed to commit migration of %q: %w", s.where, err)
	}
	return nil
}

// Record adds the sightings of one probe of target made at time at: new certificates
// get first and last seen = at; known ones get last seen = at (never moved back) and the
// CA result of this sighting.
func (s *Postgres) Record(ctx context.Context, target string, at time.Time, seen []Sighting) error {
	if s.closed.Load() {
		return ErrClosed
	}
	b := &pgx.Batch{}
	for _, o := range seen {
		b.Queue(`
INSERT INTO observations (target, sha256, sha1, first_seen, last_seen, cert, ca_valid, ca_detail)
VALUES ($1, $2, $3, $4, $4, $5, $6, $7)
ON CONFLICT (target, sha256) DO UPDATE SET
	last_seen = greatest(observations.last_seen, excluded.last_seen),
	first_seen = least(observations.first_seen, excluded.first_seen),
	ca_valid = excluded.ca_valid,
	ca_detail = excluded.ca_detail`,
			target, o.SHA256, o.SHA1, at.Unix(), o.DER, o.CAValid, o.CADetail)
	}
	// One transaction: a probe's sightings land together or not at all.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return fmt.Errorf("failed to record %d sightings of %q in %q: %w", len(seen), target, s.where, err)
	}
	return nil
}

// History returns the target's observations, newest last seen first, at most MaxHistory.
func (s *Postgres) History(ctx context.Context, target string) ([]Observation, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, `
SELECT sha256, sha1, first_seen, last_seen, cert, ca_valid, ca_detail
FROM observations WHERE target = $1 ORDER BY last_seen DESC, first_seen DESC, sha256 LIMIT $2`, target, MaxHistory)
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

// TryLease takes the probe lease on target for holder until d from now, unless another
// holder has one that has not expired; it reports whether holder holds it now, and how
// many probes of target have ended under a lease so far. The database's clock decides
// expiry, so the members' clocks need not agree. Two members racing for a free lease
// serialise on its row: one takes it, the other finds it held.
func (s *Postgres) TryLease(ctx context.Context, target, holder string, d time.Duration) (bool, int64, error) {
	if s.closed.Load() {
		return false, 0, ErrClosed
	}
	if s.prune.due(time.Now()) {
		// Best effort: a failed prune leaves rows for the next one, the lease is unharmed.
		_, _ = s.pool.Exec(ctx, `DELETE FROM probe_leases WHERE expires < clock_timestamp() - $1 * interval '1 millisecond' AND target <> $2`,
			s.prune.graceOf().Milliseconds(), target)
	}
	var probes int64
	err := s.pool.QueryRow(ctx, `
INSERT INTO probe_leases (target, holder, expires)
VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
ON CONFLICT (target) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE probe_leases.expires < clock_timestamp() OR probe_leases.holder IN ('', excluded.holder)
RETURNING probes`, target, holder, d.Milliseconds()).Scan(&probes)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, `SELECT probes FROM probe_leases WHERE target = $1`, target).Scan(&probes)
		if err == nil {
			return false, probes, nil
		}
	}
	if err != nil {
		return false, 0, fmt.Errorf("failed to take the probe lease on %q: %w", target, err)
	}
	return true, probes, nil
}

// ReleaseLease gives back holder's lease on target, counting a probe ended when probed;
// a lease taken over since (it had expired) is left to its new holder. The row expires
// now and is pruned a grace later (leaseprune.go), once its waiters saw the count move.
func (s *Postgres) ReleaseLease(ctx context.Context, target, holder string, probed bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	_, err := s.pool.Exec(ctx, `
UPDATE probe_leases SET holder = '', expires = clock_timestamp(), probes = probes + CASE WHEN $3 THEN 1 ELSE 0 END
WHERE target = $1 AND holder = $2`, target, holder, probed)
	if err != nil {
		return fmt.Errorf("failed to release the probe lease on %q: %w", target, err)
	}
	return nil
}

// Close releases the store's connections.
func (s *Postgres) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}
