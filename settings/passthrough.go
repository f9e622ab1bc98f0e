package settings

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// PassthroughSite is a host:port the user chose to verify without reading (issue 17
// item 4): the proxy checks the site's certificate with a handshake of its own and
// relays the app's TLS untouched, for a site that asks for a client certificate or
// an app that pins its own.
type PassthroughSite struct {
	Host    string // normalised (protocol.NormalizeHost)
	Port    int
	Created time.Time
	Note    string // why, in the user's words or the block page's
}

// PassthroughSites lists the sites verified without reading, by host and port.
func (s *Store) PassthroughSites(ctx context.Context) ([]PassthroughSite, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT host, port, created, note FROM passthrough_sites ORDER BY host, port")
	if err != nil {
		return nil, fmt.Errorf("failed to list sites verified without reading: %w", err)
	}
	defer rows.Close()
	var out []PassthroughSite
	for rows.Next() {
		var p PassthroughSite
		var created int64
		if err := rows.Scan(&p.Host, &p.Port, &created, &p.Note); err != nil {
			return nil, fmt.Errorf("failed to list sites verified without reading: %w", err)
		}
		p.Created = fromNanos(created)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list sites verified without reading: %w", err)
	}
	return out, nil
}

// AddPassthrough records the decision to verify host:port without reading, made
// now with the reason note; one already there keeps its date and reason.
func (s *Store) AddPassthrough(ctx context.Context, host string, port int, note string) error {
	h, err := protocol.NormalizeHost(host)
	if err == nil && !validPort(port) {
		err = fmt.Errorf("port %d is out of range (want 1-65535)", port)
	}
	if err != nil {
		return fmt.Errorf("failed to verify %q without reading: %w", host, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO passthrough_sites(host, port, created, note) VALUES(?, ?, ?, ?)
			ON CONFLICT(host, port) DO NOTHING`, h, port, nanos(s.now()), note)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to verify %q without reading: %w", host, err)
	}
	return nil
}

// RemovePassthrough ends the decision for host:port; ending one that is not there
// is not an error.
func (s *Store) RemovePassthrough(ctx context.Context, host string, port int) error {
	h, err := protocol.NormalizeHost(host)
	if err != nil {
		return fmt.Errorf("failed to remove verify without reading for %q: %w", host, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM passthrough_sites WHERE host = ? AND port = ?", h, port)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to remove verify without reading for %q: %w", host, err)
	}
	return nil
}
