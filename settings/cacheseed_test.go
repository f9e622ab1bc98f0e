package settings

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// seedCache inserts n cached verdicts (three vouchers each) in one transaction, as
// PutCache would store them: for benchmarks and the cap's tests, where n PutCache
// calls (one disk sync each) would take minutes.
func seedCache(tb testing.TB, s *Store, n int, expires time.Time) {
	tb.Helper()
	ctx := context.Background()
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := tx.PrepareContext(ctx, "INSERT INTO cache(host, port, fingerprint, created, expires) VALUES(?, 443, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer row.Close()
		vouch, err := tx.PrepareContext(ctx, "INSERT INTO cache_vouchers(host, port, fingerprint, notary) VALUES(?, 443, ?, ?)")
		if err != nil {
			return err
		}
		defer vouch.Close()
		created := nanos(expires.Add(-time.Hour))
		for i := 0; i < n; i++ {
			host, f := fmt.Sprintf("site-%d.test", i), fmt.Sprintf("%064x", i)
			// Spread the expiry times so that the oldest-expiring are the first seeded.
			if _, err := row.ExecContext(ctx, host, f, created, nanos(expires.Add(time.Duration(i)*time.Millisecond))); err != nil {
				return err
			}
			for _, v := range []string{"n1", "n2", "n3"} {
				if _, err := vouch.ExecContext(ctx, host, f, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("failed to seed %d cache entries: %v", n, err)
	}
}
