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
	// Expires, when not zero, is when the pin ends by itself (a pin for one visit or
	// one day); a check after it ignores the pin.
	Expires time.Time
	// UntilChange ends the pin when the site shows another certificate: the user
	// trusted this one until the site changes it (verifier.Verify removes it then).
	UntilChange bool
}

// Live reports whether the pin still holds at now (it has not expired).
func (p Pin) Live(now time.Time) bool { return p.Expires.IsZero() || now.Before(p.Expires) }

// AddPin trusts the certificate with fingerprint fp for host:port. Adding an existing
// pin replaces its note and keeps its creation time. fp may be upper or lower case
// hex, with or without colons.
func (s *Store) AddPin(ctx context.Context, host string, port int, fp, note string) error {
	return s.PutPin(ctx, Pin{Host: host, Port: port, FingerprintSHA256: fp, Note: note})
}

// PutPin stores p (Created is ignored: now for a new pin). A pin that exists is
// replaced in its note and its terms (Expires, UntilChange) and keeps its creation
// time: the user's latest word on it is the one that counts.
func (s *Store) PutPin(ctx context.Context, p Pin) error {
	h, f, err := normTarget(p.Host, p.Port, p.FingerprintSHA256)
	if err == nil {
		err = s.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO pins(host, port, fingerprint, note, created, expires, until_change) VALUES(?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT(host, port, fingerprint) DO UPDATE SET note = excluded.note, expires = excluded.expires, until_change = excluded.until_change`,
				h, p.Port, f, p.Note, nanos(s.now()), nanos(p.Expires), p.UntilChange)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("failed to add pin for %q: %w", p.Host, err)
	}
	return nil
}

// DeletePinsChangedFrom removes the pins for host:port that were to last until the
// site changed its certificate (UntilChange), except the one for fp, the certificate
// the site shows now, and returns how many it removed.
func (s *Store) DeletePinsChangedFrom(ctx context.Context, host string, port int, fp string) (int, error) {
	h, f, err := normTarget(host, port, fp)
	var n int
	if err == nil {
		n, err = s.deleteCount(ctx, "DELETE FROM pins WHERE host = ? AND port = ? AND until_change = 1 AND fingerprint <> ?", h, port, f)
	}
	if err != nil {
		return 0, fmt.Errorf("failed to end the pins for %q that held until its certificate changed: %w", host, err)
	}
	return n, nil
}

// Pins returns every pin by host, port and fingerprint.
func (s *Store) Pins(ctx context.Context) ([]Pin, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT host, port, fingerprint, note, created, expires, until_change FROM pins ORDER BY host, port, fingerprint")
	if err != nil {
		return nil, fmt.Errorf("failed to list pins: %w", err)
	}
	defer rows.Close()
	var out []Pin
	for rows.Next() {
		var p Pin
		var created, expires int64
		if err := rows.Scan(&p.Host, &p.Port, &p.FingerprintSHA256, &p.Note, &created, &expires, &p.UntilChange); err != nil {
			return nil, fmt.Errorf("failed to list pins: %w", err)
		}
		p.Created, p.Expires = fromNanos(created), fromNanos(expires)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list pins: %w", err)
	}
	return out, nil
}

// Pinned reports whether the user pinned the certificate with fingerprint fp for
// host:port (expired or not: Pins says until when).
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

// PurgeExpiredPins removes the pins that ended by now (Expires set and not after now)
// and returns how many: an ended pin is ignored by every check, and kept it would only
// grow the table.
func (s *Store) PurgeExpiredPins(ctx context.Context, now time.Time) (int, error) {
	n, err := s.deleteCount(ctx, "DELETE FROM pins WHERE expires <> 0 AND expires <= ?", nanos(now))
	if err != nil {
		return 0, fmt.Errorf("failed to purge ended pins: %w", err)
	}
	return n, nil
}
