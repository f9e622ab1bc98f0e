package store

import (
	"context"
	"fmt"
	"testing"
)

// leaseRows counts the rows of s's lease table, and sets its pruning to run at every
// TryLease with no grace.
func leaseRows(t *testing.T, s testStore, prune bool) func() int {
	t.Helper()
	ctx := context.Background()
	switch s := s.(type) {
	case *SQLite:
		if prune {
			s.prune.every, s.prune.grace = -1, -1
		}
		return func() int {
			var n int
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM probe_leases`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
	case *Postgres:
		if prune {
			s.prune.every, s.prune.grace = -1, -1
		}
		return func() int {
			var n int
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM probe_leases`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("unknown store %T", s)
	return nil
}

// Many probes of distinct targets leave no more lease rows than the ones in use: each
// released lease is pruned by a later TryLease. With pruning off (the grace not yet
// over), the rows grow: the count is what the test says it is.
func TestLeaseRowsPruned(t *testing.T) {
	forEach(t, func(t *testing.T, open func() (testStore, error)) {
		ctx := context.Background()
		for _, prune := range []bool{false, true} {
			s := mustOpen(t, open)
			rows := leaseRows(t, s, prune)
			before := rows()
			const probes = 200
			for i := range probes {
				target := fmt.Sprintf("t%d-%v.example:443", i, prune)
				if ok, _, err := s.TryLease(ctx, target, "A", 0); err != nil || !ok {
					t.Fatalf("lease %d: %v %v", i, ok, err)
				}
				if err := s.ReleaseLease(ctx, target, "A", true); err != nil {
					t.Fatal(err)
				}
			}
			grown := rows() - before
			if prune && grown > 1 {
				t.Errorf("%d lease rows left after %d probes of distinct targets, want at most 1 (the last)", grown, probes)
			}
			if !prune && grown != probes {
				t.Errorf("without pruning %d rows grew, want %d", grown, probes)
			}
		}
	})
}
