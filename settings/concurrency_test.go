package settings

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// TestConcurrentReadersAndWriters runs readers against a writer on one Store, and a
// second writer on another Store over the same file (as a second process would), and
// checks that every read sees whole transactions. Bounded by iteration counts; the
// context bounds the time.
func TestConcurrentReadersAndWriters(t *testing.T) {
	const (
		writes      = 60
		readers     = 4
		maxReads    = 40
		otherWrites = 40
	)
	dir := t.TempDir()
	s := openTest(t, dir)
	other := openTest(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exp := time.Now().Add(time.Hour)

	done := make(chan struct{})
	var g errgroup.Group
	g.Go(func() error { // the writer
		defer close(done)
		for i := 1; i <= writes; i++ {
			n := testNotary("n", i%7)
			n.Region = strconv.Itoa(i % 7) // readers check len(Hosts) against it
			if _, err := s.PutNotary(ctx, n); err != nil {
				return err
			}
			vouchers := make([]string, i%5)
			for j := range vouchers {
				vouchers[j] = fmt.Sprintf("v%d", j)
			}
			// Port tells readers how many vouchers the entry has.
			if err := s.PutCache(ctx, CacheEntry{Host: "h.test", Port: 1000 + i%5, FingerprintSHA256: fp('a'), Vouchers: vouchers, Expires: exp}); err != nil {
				return err
			}
			st := Defaults()
			st.Threshold, st.ThresholdK, st.MaxNotaries = ThresholdKOfN, i%3+1, 3
			if err := s.SaveSettings(ctx, st); err != nil {
				return err
			}
			if _, err := s.AddEvent(ctx, Event{Kind: "w", Port: i}); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error { // a writer on a second handle to the same file
		for i := 1; i <= otherWrites; i++ {
			if _, err := other.AddEvent(ctx, Event{Kind: "other", Port: i}); err != nil {
				return err
			}
		}
		return nil
	})
	for r := 0; r < readers; r++ {
		g.Go(func() error {
			for i := 0; i < maxReads; i++ {
				select {
				case <-done:
					return nil
				default:
				}
				n, err := s.Notary(ctx, "n")
				if err == nil {
					if want, _ := strconv.Atoi(n.Region); len(n.Hosts) != want {
						return fmt.Errorf("torn notary: region %s, %d hosts", n.Region, len(n.Hosts))
					}
				}
				entries, err := s.CacheEntries(ctx)
				if err != nil {
					return err
				}
				for _, e := range entries {
					if len(e.Vouchers) > e.Port-1000 {
						return fmt.Errorf("torn cache entry: port %d, vouchers %v", e.Port, e.Vouchers)
					}
				}
				st, err := s.Settings(ctx)
				if err != nil {
					return err
				}
				if err := st.Validate(); err != nil {
					return err
				}
				ev, err := s.Events(ctx, 10)
				if err != nil {
					return err
				}
				for j := 1; j < len(ev); j++ {
					if ev[j].ID >= ev[j-1].ID {
						return fmt.Errorf("events out of order: %d then %d", ev[j-1].ID, ev[j].ID)
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Events(ctx, 0)
	if err != nil || len(ev) != writes+otherWrites {
		t.Errorf("%d events, %v; want %d", len(ev), err, writes+otherWrites)
	}
}
