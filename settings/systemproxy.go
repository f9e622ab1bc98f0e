package settings

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SystemProxySaved is what one desktop mechanism's proxy setting was before the app
// pointed it at the proxy ("Protect this computer"), kept until it is put back.
type SystemProxySaved struct {
	Mechanism string    // the mechanism's id, e.g. "gnome"
	Previous  []byte    // the mechanism's own record of what was there
	Applied   string    // what the app set it to (a PAC URL or a proxy URL)
	SavedAt   time.Time // when it was saved
}

// SaveSystemProxy remembers what a mechanism held before the app changed it. A row
// already there is kept as it is (its Previous is the user's setting; what the
// mechanism holds now is ours), except for Applied, which follows the latest change.
// It reports whether a new row was made.
func (s *Store) SaveSystemProxy(ctx context.Context, sp SystemProxySaved) (bool, error) {
	var made bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO system_proxy(mechanism, previous, applied, saved_at) VALUES(?, ?, ?, ?)
			ON CONFLICT(mechanism) DO NOTHING`, sp.Mechanism, string(sp.Previous), sp.Applied, nanos(s.now()))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		made = n == 1
		if !made {
			_, err = tx.ExecContext(ctx, "UPDATE system_proxy SET applied = ? WHERE mechanism = ? AND applied != ?",
				sp.Applied, sp.Mechanism, sp.Applied)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("failed to save the previous proxy setting of %q: %w", sp.Mechanism, err)
	}
	return made, nil
}

// SystemProxySaved returns every saved previous setting, by mechanism.
func (s *Store) SystemProxySaved(ctx context.Context) ([]SystemProxySaved, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT mechanism, previous, applied, saved_at FROM system_proxy ORDER BY mechanism")
	if err != nil {
		return nil, fmt.Errorf("failed to read the saved proxy settings: %w", err)
	}
	defer rows.Close()
	var out []SystemProxySaved
	for rows.Next() {
		var sp SystemProxySaved
		var prev string
		var at int64
		if err := rows.Scan(&sp.Mechanism, &prev, &sp.Applied, &at); err != nil {
			return nil, fmt.Errorf("failed to read the saved proxy settings: %w", err)
		}
		sp.Previous, sp.SavedAt = []byte(prev), fromNanos(at)
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read the saved proxy settings: %w", err)
	}
	return out, nil
}

// DeleteSystemProxy forgets a mechanism's saved setting, once it was put back (or the
// user changed it since). A missing row is not an error.
func (s *Store) DeleteSystemProxy(ctx context.Context, mechanism string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM system_proxy WHERE mechanism = ?", mechanism)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to forget the saved proxy setting of %q: %w", mechanism, err)
	}
	return nil
}
