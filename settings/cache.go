package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// DefaultCacheCap is how many cached verdicts the store keeps (about 85 MB on disk);
// PutCache evicts those that expire soonest beyond it. The memory cache in front of
// it is smaller (verifier.DefaultMemoryCacheSize).
const DefaultCacheCap = 100_000

// CacheEntry is a verdict to reuse: the notaries vouched for the certificate with
// this fingerprint at this site, until Expires.
type CacheEntry struct {
	Host              string // lower case, no trailing dot, IPv6 without brackets
	Port              int
	FingerprintSHA256 string   // lowercase hex SHA-256 of the leaf certificate's DER
	Vouchers          []string // names of the notaries that vouched, sorted
	Created           time.Time
	Expires           time.Time
}

// normTarget puts a site and a fingerprint in the one canonical form every part of
// the app uses (protocol.NormalizeHost, protocol.NormalizeSHA256Fingerprint), so
// that hosts and fingerprints compare equal however they were written.
func normTarget(host string, port int, fp string) (string, string, error) {
	h, err := protocol.NormalizeHost(host)
	if err != nil {
		return "", "", err
	}
	if !validPort(port) {
		return "", "", fmt.Errorf("port %d is out of range", port)
	}
	f, err := protocol.NormalizeSHA256Fingerprint(fp)
	return h, f, err
}

// PutCache stores e, replacing an entry for the same host, port and fingerprint and
// its vouchers, and evicts beyond DefaultCacheCap (evictCache), in one transaction. A
// zero Created is now; Expires must be set.
func (s *Store) PutCache(ctx context.Context, e CacheEntry) error {
	host, fp, err := normTarget(e.Host, e.Port, e.FingerprintSHA256)
	if err == nil && e.Expires.IsZero() {
		err = errors.New("no expiry time")
	}
	if err != nil {
		return fmt.Errorf("failed to put cache entry for %q: %w", e.Host, err)
	}
	if e.Created.IsZero() {
		e.Created = s.now()
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		// Replacing the row cascades to the old vouchers.
		if _, err := tx.ExecContext(ctx, "DELETE FROM cache WHERE host = ? AND port = ? AND fingerprint = ?", host, e.Port, fp); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO cache(host, port, fingerprint, created, expires) VALUES(?, ?, ?, ?, ?)",
			host, e.Port, fp, nanos(e.Created), nanos(e.Expires)); err != nil {
			return err
		}
		for _, v := range e.Vouchers {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO cache_vouchers(host, port, fingerprint, notary) VALUES(?, ?, ?, ?)",
				host, e.Port, fp, v); err != nil {
				return err
			}
		}
		return s.evictCache(ctx, tx, host, e.Port, fp)
	})
	if err != nil {
		return fmt.Errorf("failed to put cache entry for %q: %w", e.Host, err)
	}
	return nil
}

// evictCache removes the entries that expire soonest (expired ones first) when there
// are more than the cap, never the one just put (host, port, fp). It takes a hundredth
// of the cap more than it must, so that a full cache evicts once per that many puts,
// not at each: every removal moves the change counter, and the running app answers a
// move by re-reading its rules and dropping its memory cache (Changes). Counting uses
// the expires index: 0.06 ms at 100,000 entries, against 2.4 ms for the put's sync.
func (s *Store) evictCache(ctx context.Context, tx *sql.Tx, host string, port int, fp string) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM cache").Scan(&n); err != nil {
		return err
	}
	if n <= s.cacheCap {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM cache WHERE rowid IN (SELECT rowid FROM cache
		WHERE NOT (host = ? AND port = ? AND fingerprint = ?) ORDER BY expires LIMIT ?)`,
		host, port, fp, n-s.cacheCap+s.cacheCap/100)
	return err
}

// CacheEntries returns every entry, expired ones included (check Expires, or call
// PurgeExpiredCache first), by host, port and fingerprint.
func (s *Store) CacheEntries(ctx context.Context) ([]CacheEntry, error) {
	out, err := s.queryCache(ctx, "", nil)
	if err != nil {
		return nil, fmt.Errorf("failed to list cache entries: %w", err)
	}
	return out, nil
}

// LookupCache returns the entry for the site and fingerprint if it has not expired at
// now, else ErrNotFound.
func (s *Store) LookupCache(ctx context.Context, host string, port int, fp string, now time.Time) (CacheEntry, error) {
	h, f, err := normTarget(host, port, fp)
	if err != nil {
		return CacheEntry{}, fmt.Errorf("failed to look up cache entry for %q: %w", host, err)
	}
	out, err := s.queryCache(ctx, "WHERE c.host = ? AND c.port = ? AND c.fingerprint = ? AND c.expires > ?", []any{h, port, f, nanos(now)})
	if err != nil {
		return CacheEntry{}, fmt.Errorf("failed to look up cache entry for %q: %w", host, err)
	}
	if len(out) == 0 {
		return CacheEntry{}, ErrNotFound
	}
	return out[0], nil
}

func (s *Store) queryCache(ctx context.Context, where string, args []any) ([]CacheEntry, error) {
	var out []CacheEntry
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT c.host, c.port, c.fingerprint, c.created, c.expires, v.notary
			FROM cache c LEFT JOIN cache_vouchers v USING (host, port, fingerprint) `+where+`
			ORDER BY c.host, c.port, c.fingerprint, v.notary`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e CacheEntry
			var created, expires int64
			var notary sql.NullString
			if err := rows.Scan(&e.Host, &e.Port, &e.FingerprintSHA256, &created, &expires, &notary); err != nil {
				return err
			}
			if n := len(out); n == 0 || out[n-1].Host != e.Host || out[n-1].Port != e.Port || out[n-1].FingerprintSHA256 != e.FingerprintSHA256 {
				e.Created, e.Expires = fromNanos(created), fromNanos(expires)
				out = append(out, e)
			}
			if notary.Valid {
				last := &out[len(out)-1]
				last.Vouchers = append(last.Vouchers, notary.String)
			}
		}
		return rows.Err()
	})
	for i := range out {
		sort.Strings(out[i].Vouchers)
	}
	return out, err
}

// DeleteCache removes every entry for the site, whatever the fingerprint, and returns
// how many it removed.
func (s *Store) DeleteCache(ctx context.Context, host string, port int) (int, error) {
	h, err := protocol.NormalizeHost(host)
	if err != nil {
		return 0, fmt.Errorf("failed to delete cache entries for %q: %w", host, err)
	}
	n, err := s.deleteCount(ctx, "DELETE FROM cache WHERE host = ? AND port = ?", h, port)
	if err != nil {
		return 0, fmt.Errorf("failed to delete cache entries for %q: %w", host, err)
	}
	return n, nil
}

// DeleteCacheEntry removes one entry; ErrNotFound when there is none.
func (s *Store) DeleteCacheEntry(ctx context.Context, host string, port int, fp string) error {
	h, f, err := normTarget(host, port, fp)
	if err == nil {
		var n int
		n, err = s.deleteCount(ctx, "DELETE FROM cache WHERE host = ? AND port = ? AND fingerprint = ?", h, port, f)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("failed to delete cache entry for %q: %w", host, err)
	}
	return nil
}

// DeleteCacheVouchedBy removes every entry the notary vouched for (for example when
// it is revoked, so its word is no longer reused) and returns how many it removed.
func (s *Store) DeleteCacheVouchedBy(ctx context.Context, notary string) (int, error) {
	n, err := s.deleteCount(ctx, `DELETE FROM cache WHERE (host, port, fingerprint) IN
		(SELECT host, port, fingerprint FROM cache_vouchers WHERE notary = ?)`, notary)
	if err != nil {
		return 0, fmt.Errorf("failed to delete cache entries vouched by %q: %w", notary, err)
	}
	return n, nil
}

// ClearCache removes every entry and returns how many it removed.
func (s *Store) ClearCache(ctx context.Context) (int, error) {
	n, err := s.deleteCount(ctx, "DELETE FROM cache")
	if err != nil {
		return 0, fmt.Errorf("failed to clear cache: %w", err)
	}
	return n, nil
}

// PurgeExpiredCache removes the entries expired at now (Expires <= now) and returns
// how many it removed.
func (s *Store) PurgeExpiredCache(ctx context.Context, now time.Time) (int, error) {
	n, err := s.deleteCount(ctx, "DELETE FROM cache WHERE expires <= ?", nanos(now))
	if err != nil {
		return 0, fmt.Errorf("failed to purge expired cache entries: %w", err)
	}
	return n, nil
}

func (s *Store) deleteCount(ctx context.Context, query string, args ...any) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
