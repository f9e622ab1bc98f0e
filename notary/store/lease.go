package store

import (
	"context"
	"fmt"
	"time"
)

// TryLease takes the probe lease on target for holder until d from now, unless another
// holder has one that has not expired; it reports whether holder holds it now. A holder
// that ends without ReleaseLease (a crash) loses nothing: its lease expires and the next
// TryLease takes it. Times come from this host's clock: a SQLite file is shared only by
// processes on one host.
func (s *SQLite) TryLease(ctx context.Context, target, holder string, d time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	now := time.Now()
	res, err := s.db.ExecContext(ctx, `
INSERT INTO probe_leases (target, holder, expires) VALUES (?, ?, ?)
ON CONFLICT (target) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE probe_leases.expires < ? OR probe_leases.holder = excluded.holder`,
		target, holder, now.Add(d).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("failed to take the probe lease on %q: %w", target, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("failed to take the probe lease on %q: %w", target, err)
	}
	return n == 1, nil
}

// ReleaseLease gives back holder's lease on target; a lease taken over since (it had
// expired) is left to its new holder.
func (s *SQLite) ReleaseLease(ctx context.Context, target, holder string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM probe_leases WHERE target = ? AND holder = ?`, target, holder); err != nil {
		return fmt.Errorf("failed to release the probe lease on %q: %w", target, err)
	}
	return nil
}
