package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Notary is a logical notary: a name the user knows, served by one or more physical
// hosts, each with its pinned certificate.
type Notary struct {
	ID             int64  // assigned by the store
	Name           string // unique; the key PutNotary replaces by
	Region         string
	BundleLocation string // where the bundle can be fetched again (URL), if known
	Source         string // where it came from: "builtin", "file:...", "url:..." (free text)
	Enabled        bool   // asked during checks
	// Revoked marks a notary the user (or an update) withdrew trust from. Revoked
	// notaries stay listed so a re-import is recognised and stays revoked.
	Revoked   bool
	RevokedAt time.Time
	AddedAt   time.Time
	UpdatedAt time.Time
	Hosts     []NotaryHost // in the order given
	Bundle    []byte       // the raw bundle JSON as imported
}

// NotaryHost is one physical host of a notary.
type NotaryHost struct {
	Host           string
	SSLPort        int
	HTTPPort       int
	CertificatePEM string // the pinned certificate the host must present
}

const notaryCols = "id, name, region, bundle_location, source, enabled, revoked, revoked_at, added_at, updated_at, bundle"

func scanNotary(sc interface{ Scan(...any) error }) (Notary, error) {
	var n Notary
	var revokedAt, addedAt, updatedAt int64
	if err := sc.Scan(&n.ID, &n.Name, &n.Region, &n.BundleLocation, &n.Source, &n.Enabled, &n.Revoked,
		&revokedAt, &addedAt, &updatedAt, &n.Bundle); err != nil {
		return Notary{}, err
	}
	n.RevokedAt, n.AddedAt, n.UpdatedAt = fromNanos(revokedAt), fromNanos(addedAt), fromNanos(updatedAt)
	return n, nil
}

// Notaries returns every notary, revoked and disabled ones included, by name.
func (s *Store) Notaries(ctx context.Context) ([]Notary, error) {
	var out []Notary
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT "+notaryCols+" FROM notaries ORDER BY name")
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := map[int64]int{}
		for rows.Next() {
			n, err := scanNotary(rows)
			if err != nil {
				return err
			}
			byID[n.ID] = len(out)
			out = append(out, n)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		hrows, err := tx.QueryContext(ctx, "SELECT notary_id, host, ssl_port, http_port, certificate_pem FROM notary_hosts ORDER BY notary_id, position")
		if err != nil {
			return err
		}
		defer hrows.Close()
		for hrows.Next() {
			var id int64
			var h NotaryHost
			if err := hrows.Scan(&id, &h.Host, &h.SSLPort, &h.HTTPPort, &h.CertificatePEM); err != nil {
				return err
			}
			if i, ok := byID[id]; ok {
				out[i].Hosts = append(out[i].Hosts, h)
			}
		}
		return hrows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list notaries: %w", err)
	}
	return out, nil
}

// Notary returns the notary with the name, or ErrNotFound.
func (s *Store) Notary(ctx context.Context, name string) (Notary, error) {
	var n Notary
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = getNotary(ctx, tx, name)
		return err
	})
	if err != nil {
		return Notary{}, fmt.Errorf("failed to get notary %q: %w", name, err)
	}
	return n, nil
}

func getNotary(ctx context.Context, tx *sql.Tx, name string) (Notary, error) {
	n, err := scanNotary(tx.QueryRowContext(ctx, "SELECT "+notaryCols+" FROM notaries WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return Notary{}, ErrNotFound
	}
	if err != nil {
		return Notary{}, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT host, ssl_port, http_port, certificate_pem FROM notary_hosts WHERE notary_id = ? ORDER BY position", n.ID)
	if err != nil {
		return Notary{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var h NotaryHost
		if err := rows.Scan(&h.Host, &h.SSLPort, &h.HTTPPort, &h.CertificatePEM); err != nil {
			return Notary{}, err
		}
		n.Hosts = append(n.Hosts, h)
	}
	return n, rows.Err()
}

// PutNotary inserts n, or replaces the notary with the same Name, hosts included, in
// one transaction, and returns what was stored.
//
// The rule for the state fields (Enabled, Revoked, RevokedAt, AddedAt):
//   - a new name is inserted with the state given (AddedAt defaults to now; RevokedAt
//     to now when Revoked). Set Enabled for the notary to be asked.
//   - an existing name with n.ID == 0 (a value built afresh, e.g. by an import) keeps
//     the stored state: a re-import does not re-enable a notary the user disabled, nor
//     un-revoke a revoked one.
//   - an existing name with n.ID equal to the stored ID (a value read from the store
//     and edited) takes the state given; a zero AddedAt keeps the stored one.
//   - a non-zero n.ID that is not the stored ID for the name is an error.
func (s *Store) PutNotary(ctx context.Context, n Notary) (Notary, error) {
	if err := validateNotary(n); err != nil {
		return Notary{}, fmt.Errorf("failed to put notary %q: %w", n.Name, err)
	}
	now := s.now()
	var out Notary
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := getNotary(ctx, tx, n.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			if n.ID != 0 {
				return fmt.Errorf("no notary has this name, but the value carries ID %d", n.ID)
			}
			if n.AddedAt.IsZero() {
				n.AddedAt = now
			}
		case err != nil:
			return err
		case n.ID == 0:
			n.ID, n.Enabled, n.Revoked, n.RevokedAt, n.AddedAt = old.ID, old.Enabled, old.Revoked, old.RevokedAt, old.AddedAt
		case n.ID == old.ID:
			if n.AddedAt.IsZero() {
				n.AddedAt = old.AddedAt
			}
		default:
			return fmt.Errorf("the value carries ID %d but the stored notary has ID %d", n.ID, old.ID)
		}
		if n.Revoked && n.RevokedAt.IsZero() {
			n.RevokedAt = now
		}
		if !n.Revoked {
			n.RevokedAt = time.Time{}
		}
		n.UpdatedAt = now
		if n.ID == 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO notaries(name, region, bundle_location, source, enabled, revoked, revoked_at, added_at, updated_at, bundle)
				VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				n.Name, n.Region, n.BundleLocation, n.Source, n.Enabled, n.Revoked, nanos(n.RevokedAt), nanos(n.AddedAt), nanos(n.UpdatedAt), n.Bundle)
			if err != nil {
				return err
			}
			if n.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		} else {
			if _, err := tx.ExecContext(ctx, `UPDATE notaries SET region = ?, bundle_location = ?, source = ?, enabled = ?, revoked = ?, revoked_at = ?, added_at = ?, updated_at = ?, bundle = ?
				WHERE id = ?`,
				n.Region, n.BundleLocation, n.Source, n.Enabled, n.Revoked, nanos(n.RevokedAt), nanos(n.AddedAt), nanos(n.UpdatedAt), n.Bundle, n.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM notary_hosts WHERE notary_id = ?", n.ID); err != nil {
				return err
			}
		}
		for i, h := range n.Hosts {
			if _, err := tx.ExecContext(ctx, "INSERT INTO notary_hosts(notary_id, position, host, ssl_port, http_port, certificate_pem) VALUES(?, ?, ?, ?, ?, ?)",
				n.ID, i, h.Host, h.SSLPort, h.HTTPPort, h.CertificatePEM); err != nil {
				return err
			}
		}
		out, err = getNotary(ctx, tx, n.Name)
		return err
	})
	if err != nil {
		return Notary{}, fmt.Errorf("failed to put notary %q: %w", n.Name, err)
	}
	return out, nil
}

func validateNotary(n Notary) error {
	if strings.TrimSpace(n.Name) == "" {
		return errors.New("the name is empty")
	}
	for i, h := range n.Hosts {
		if h.Host == "" {
			return fmt.Errorf("host %d has no name", i)
		}
		if !validPort(h.SSLPort) || (h.HTTPPort != 0 && !validPort(h.HTTPPort)) {
			return fmt.Errorf("host %q has a port out of range (ssl %d, http %d)", h.Host, h.SSLPort, h.HTTPPort)
		}
	}
	return nil
}

func validPort(p int) bool { return p >= 1 && p <= 65535 }

// SetNotaryEnabled turns asking the notary on or off; ErrNotFound when missing.
func (s *Store) SetNotaryEnabled(ctx context.Context, name string, enabled bool) error {
	verb := map[bool]string{true: "enable", false: "disable"}[enabled]
	return s.updateNotary(ctx, verb, name, "enabled = ?", enabled)
}

// RevokeNotary marks the notary revoked, now. It stays listed; ErrNotFound when missing.
func (s *Store) RevokeNotary(ctx context.Context, name string) error {
	return s.updateNotary(ctx, "revoke", name, "revoked = 1, revoked_at = ?", nanos(s.now()))
}

// UnrevokeNotary clears the revocation; ErrNotFound when missing.
func (s *Store) UnrevokeNotary(ctx context.Context, name string) error {
	return s.updateNotary(ctx, "unrevoke", name, "revoked = 0, revoked_at = ?", 0)
}

// DeleteNotary removes the notary and its hosts; ErrNotFound when missing. Prefer
// RevokeNotary for a notary that must not come back through a re-import.
func (s *Store) DeleteNotary(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, "DELETE FROM notaries WHERE name = ?", name))
	})
	if err != nil {
		return fmt.Errorf("failed to remove notary %q: %w", name, err)
	}
	return nil
}

func (s *Store) updateNotary(ctx context.Context, verb, name, set string, arg any) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, "UPDATE notaries SET "+set+", updated_at = ? WHERE name = ?", arg, nanos(s.now()), name))
	})
	if err != nil {
		return fmt.Errorf("failed to %s notary %q: %w", verb, name, err)
	}
	return nil
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
