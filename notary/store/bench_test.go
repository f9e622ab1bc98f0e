package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkHistory reads one target's history (3 certificates) from each store, from
// parallel goroutines: what a store costs an answer the notary's memory cache misses.
func BenchmarkHistory(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			s := openBench(b, k)
			ctx := context.Background()
			for i := range 3 {
				fp := strconv.Itoa(i)
				if err := s.Record(ctx, "bench.example:443", time.Unix(1700000000, 0), []Sighting{{SHA256: fp, SHA1: fp, DER: make([]byte, 1200)}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if h, err := s.History(ctx, "bench.example:443"); err != nil || len(h) != 3 {
						b.Errorf("history: %d, %v", len(h), err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRecord records one probe's sighting of a new target per operation.
func BenchmarkRecord(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			s := openBench(b, k)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				fp := strconv.Itoa(i)
				if err := s.Record(ctx, "t"+fp+".example:443", time.Unix(1700000000, 0), []Sighting{{SHA256: fp, SHA1: fp, DER: make([]byte, 1200)}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLease takes and gives back one target's probe lease: the fleet's cost per probe.
func BenchmarkLease(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			s := openBench(b, k)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				target := "t" + strconv.Itoa(i) + ".example:443"
				if ok, _, err := s.TryLease(ctx, target, "bench", time.Minute); err != nil || !ok {
					b.Fatalf("lease: %v %v", ok, err)
				}
				if err := s.ReleaseLease(ctx, target, "bench", true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func openBench(b *testing.B, k kind) testStore {
	s, err := k.open(b)()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
