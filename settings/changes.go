package settings

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// subsetKeyName names the per-install secret in the install table.
const subsetKeyName = "subset_key"

// SubsetKey returns this install's secret for choosing which notaries are asked about
// a site (32 random bytes), made and stored on first use. It never changes after
// that, so a site's notaries stay the same across checks and restarts: retrying a
// page cannot draw another set.
func (s *Store) SubsetKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.db.QueryRowContext(ctx, "SELECT value FROM install WHERE key = ?", subsetKeyName).Scan(&key)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to read the install's subset key: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("failed to make the install's subset key: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		// Another process may have made it meanwhile: keep the first one made, unless
		// what is stored is damaged.
		if _, err := tx.ExecContext(ctx, `INSERT INTO install(key, value) VALUES(?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE length(install.value) != 32`, subsetKeyName, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT value FROM install WHERE key = ?", subsetKeyName).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to store the install's subset key: %w", err)
	}
	return key, nil
}

// Changes returns the store's change counter: it grows with every write, by any
// process, to the settings, the notaries, the pins, and with every removal of a
// cached verdict. Cached verdicts added and history events do not move it.
func (s *Store) Changes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT n FROM changes WHERE id = 1").Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to read the store's change counter: %w", err)
	}
	return n, nil
}

// DefaultWatchInterval is how often WatchChanges looks at the change counter: a
// change made by another process (the terminal) reaches the running app within it.
const DefaultWatchInterval = 250 * time.Millisecond

// WatchChanges calls changed every time the change counter has moved since the last
// change it applied, every interval (DefaultWatchInterval when not positive), until
// ctx is done; then it returns. An error, from reading the counter or from changed, is
// passed to failed (when not nil), and the change is tried again at the next tick.
// changed runs on the watcher's goroutine: the next look waits for it.
func (s *Store) WatchChanges(ctx context.Context, interval time.Duration, changed func() error, failed func(error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	last, err := s.Changes(ctx)
	known := err == nil
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := s.Changes(ctx)
		if err == nil && known && n == last {
			continue
		}
		if err == nil {
			err = changed()
		}
		if err != nil {
			if failed != nil && ctx.Err() == nil {
				failed(err)
			}
			continue
		}
		last, known = n, true
	}
}
