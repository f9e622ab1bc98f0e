package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TryLease takes the probe lease on target for holder until d from now, unless another
// holder has one that has not expired; it reports whether holder holds it now, and how
// many probes of target have ended under a lease so far (a waiter that sees the count
// move knows another member's probe ended, whatever it saw). A holder that ends without
// ReleaseLease (a crash) loses nothing: its lease expires and the next TryLease takes it.
// Times come from this host's clock: a SQLite file is shared only by processes on one
// host.
func (s *SQLite) TryLease(ctx context.Context, target, holder string, d time.Duration) (bool, int64, error) {
	if s.closed.Load() {
		return false, 0, ErrClosed
	}
	now := time.Now()
	if s.prune.due(now) {
		// Best effort: a failed prune leaves rows for the next one, the lease is unharmed.
		_, _ = s.db.ExecContext(ctx, `DELETE FROM probe_leases WHERE expires < ? AND target <> ?`, now.Add(-s.prune.graceOf()).UnixMilli(), target)
	}
	var probes int64
	err := s.db.QueryRowContext(ctx, `
INSERT INTO probe_leases (target, holder, expires) VALUES (?, ?, ?)
ON CONFLICT (target) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE probe_leases.expires < ? OR probe_leases.holder IN ('', excluded.holder)
RETURNING probes`, target, holder, now.Add(d).UnixMilli(), now.UnixMilli()).Scan(&probes)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.QueryRowContext(ctx, `SELECT probes FROM probe_leases WHERE target = ?`, target).Scan(&probes)
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
func (s *SQLite) ReleaseLease(ctx context.Context, target, holder string, probed bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	_, err := s.db.ExecContext(ctx, `
UPDATE probe_leases SET holder = '', expires = ?, probes = probes + ?
WHERE target = ? AND holder = ?`, time.Now().UnixMilli(), b2i(probed), target, holder)
	if err != nil {
		return fmt.Errorf("failed to release the probe lease on %q: %w", target, err)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
