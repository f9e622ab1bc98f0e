package settings

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkStartup opens a store, empty and holding 100,000 cached verdicts, and reads
// what the app reads from it at start (core.Open: the settings, then the verifier's
// snapshot: settings, notaries, pins, subset key). "clean": the last Store was closed,
// so Open skips the integrity check; "unclean": a process that had it open ended
// without Close, so Open runs PRAGMA quick_check, as every open did before.
func BenchmarkStartup(b *testing.B) {
	for _, tc := range []struct {
		cached  int
		unclean bool
	}{{0, false}, {100_000, false}, {0, true}, {100_000, true}} {
		name := fmt.Sprintf("cached=%d/clean", tc.cached)
		if tc.unclean {
			name = fmt.Sprintf("cached=%d/unclean", tc.cached)
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			s, err := Open(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			seedCache(b, s, tc.cached, time.Now().Add(time.Hour))
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			dead := 0
			if tc.unclean {
				dead = exitedPID(b)
			}
			ctx := context.Background()
			for b.Loop() {
				if tc.unclean {
					b.StopTimer()
					leaveMarker(b, dir, dead)
					b.StartTimer()
				}
				s, err := Open(ctx, dir)
				if err != nil {
					b.Fatal(err)
				}
				if s.checked != tc.unclean {
					b.Fatalf("checked = %v", s.checked)
				}
				if err := startupReads(ctx, s); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// startupReads reads what core.Open and verifier.New read from the store.
func startupReads(ctx context.Context, s *Store) error {
	if _, err := s.Settings(ctx); err != nil { // core.Open's own read
		return err
	}
	if _, err := s.Settings(ctx); err != nil { // the verifier's
		return err
	}
	if _, err := s.Notaries(ctx); err != nil {
		return err
	}
	if _, err := s.Pins(ctx); err != nil {
		return err
	}
	_, err := s.SubsetKey(ctx)
	return err
}
