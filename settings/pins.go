package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Pin is a user exception: "trust this certificate for this site" whatever the
// notaries say.
type Pin struct {
	Host              string // normalised like CacheEntry.Host
	Port              int
	FingerprintSHA256 string // lowercase hex
	Note              string // why, in the user's words
	Created           time.Time
}

// AddPin trusts the certificate with fingerprint fp for host:port. Adding an existing
// pin replaces its note and keeps its creation time. fp may be upper or lower case
// hex, with or without colons.
func (s *Store) AddPin(ctx context.Context, host string, port int, fp, note string) error {
	h, f, err := normTarget(host, port, fp)
	if err == nil {
		err = s.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO pins(host, port, fingerprint, note, created) VALUES(?, ?, ?, ?, ?)
				ON CONFLICT(host, port, fingerprint) DO UPDATE SET note = excluded.note`,
				h, port, f, note, nanos(s.now()))
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("failed to add pin for %q: %w", host, err)
	}
	return nil
}

// Pins returns every pin by host, port and fingerprint.
func (s *Store) Pins(ctx context.Context) ([]Pin, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT host, port, fingerprint, note, created FROM pins ORDER BY host, port, fingerprint")
	if err != nil {
		return nil, fmt.Errorf("failed to list pins: %w", err)
	}
	defer rows.Close()
	var out []Pin
	for rows.Next() {
		var p Pin
		var created int64
		if err := rows.Scan(&p.Host, &p.Port, &p.FingerprintSHA256, &p.Note, &created); err != nil {
			return nil, fmt.Errorf("failed to list pins: %w", err)
		}
		p.Created = fromNanos(created)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list pins: %w", err)
	}
	return out, nil
}

// Pinned reports whether the user pinned the certificate with fingerprint fp for
// host:port.
func (s *Store) Pinned(ctx context.Context, host string, port int, fp string) (bool, error) {
	h, f, err := normTarget(host, port, fp)
	if err != nil {
		return false, fmt.Errorf("failed to look up pin for %q: %w", host, err)
	}
	var one int
	err = s.db.QueryRowContext(ctx, "SELECT 1 FROM pins WHERE host = ? AND port = ? AND fingerprint = ?", h, port, f).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to look up pin for %q: %w", host, err)
	}
	return true, nil
}

// DeletePin removes a pin; ErrNotFound when there is none.
func (s *Store) DeletePin(ctx context.Context, host string, port int, fp string) error {
	h, f, err := normTarget(host, port, fp)
	if err == nil {
		var n int
		n, err = s.deleteCount(ctx, "DELETE FROM pins WHERE host = ? AND port = ? AND fingerprint = ?", h, port, f)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("failed to delete pin for %q: %w", host, err)
	}
	return nil
}
