package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testpg"
)

var pg testpg.Server

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// testStore is what the store tests exercise; both stores have it.
type testStore interface {
	Record(ctx context.Context, target string, at time.Time, seen []Sighting) error
	History(ctx context.Context, target string) ([]Observation, error)
	TryLease(ctx context.Context, target, holder string, d time.Duration) (bool, int64, error)
	ReleaseLease(ctx context.Context, target, holder string, probed bool) error
	Close() error
}

// kind is one store under test: open returns a function opening the same store again
// (a restart, or a second fleet member).
type kind struct {
	name string
	open func(t testing.TB) func() (testStore, error)
}

var kinds = []kind{
	{"sqlite", func(t testing.TB) func() (testStore, error) {
		path := filepath.Join(t.TempDir(), "notary.db")
		return func() (testStore, error) { return OpenSQLite(context.Background(), path) }
	}},
	{"postgres", func(t testing.TB) func() (testStore, error) {
		url := pg.Database(t)
		return func() (testStore, error) { return OpenPostgres(context.Background(), url) }
	}},
}

// forEach runs test against every store kind.
func forEach(t *testing.T, test func(t *testing.T, open func() (testStore, error))) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) { test(t, k.open(t)) })
	}
}

func mustOpen(t *testing.T, open func() (testStore, error)) testStore {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRecordAndHistory(t *testing.T) {
	forEach(t, func(t *testing.T, open func() (testStore, error)) {
		ctx := context.Background()
		s := mustOpen(t, open)
		a := Sighting{SHA256: "aa", SHA1: "AA", DER: []byte{1}, CAValid: true}
		b := Sighting{SHA256: "bb", SHA1: "BB", DER: []byte{2}, CADetail: "unknown authority"}
		t0 := time.Unix(1700000000, 0)
		for _, r := range []struct {
			target string
			at     time.Time
			seen   []Sighting
		}{
			{"example.com:443", t0, []Sighting{a}},
			{"example.com:443", t0.Add(time.Hour), []Sighting{a, b}},
			// An older sighting recorded late never moves last seen back.
			{"example.com:443", t0.Add(-time.Hour), []Sighting{b}},
			{"other.example:443", t0, []Sighting{b}},
		} {
			if err := s.Record(ctx, r.target, r.at, r.seen); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		// Reopen: the data is kept, and migrating again changes nothing.
		s = mustOpen(t, open)
		h, err := s.History(ctx, "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 {
			t.Fatalf("history has %d rows, want 2: %+v", len(h), h)
		}
		if h[0].SHA256 != "aa" || !h[0].FirstSeen.Equal(t0) || !h[0].LastSeen.Equal(t0.Add(time.Hour)) || !h[0].CAValid || string(h[0].DER) != "\x01" {
			t.Errorf("a = %+v", h[0])
		}
		if h[1].SHA256 != "bb" || !h[1].FirstSeen.Equal(t0.Add(-time.Hour)) || !h[1].LastSeen.Equal(t0.Add(time.Hour)) || h[1].CADetail != "unknown authority" || h[1].SHA1 != "BB" {
			t.Errorf("b = %+v", h[1])
		}
		if none, err := s.History(ctx, "absent.example:443"); err != nil || len(none) != 0 {
			t.Errorf("absent target: %v %v", none, err)
		}
		s.Close()
		if _, err := s.History(ctx, "example.com:443"); !errors.Is(err, ErrClosed) {
			t.Errorf("after close: err = %v", err)
		}
	})
}

// What one member records, another member reads (a fleet shares the database).
func TestSecondOpenerSeesRecords(t *testing.T) {
	forEach(t, func(t *testing.T, open func() (testStore, error)) {
		ctx := context.Background()
		one, two := mustOpen(t, open), mustOpen(t, open)
		if err := one.Record(ctx, "a.example:443", time.Unix(1700000000, 0), []Sighting{{SHA256: "cc", SHA1: "CC", DER: []byte{3}}}); err != nil {
			t.Fatal(err)
		}
		h, err := two.History(ctx, "a.example:443")
		if err != nil || len(h) != 1 || h[0].SHA256 != "cc" {
			t.Fatalf("second member reads %+v, %v", h, err)
		}
	})
}

func TestLease(t *testing.T) {
	forEach(t, func(t *testing.T, open func() (testStore, error)) {
		ctx := context.Background()
		one, two := mustOpen(t, open), mustOpen(t, open)
		const target = "lease.example:443"
		take := func(s testStore, holder string, d time.Duration) (bool, int64) {
			t.Helper()
			ok, probes, err := s.TryLease(ctx, target, holder, d)
			if err != nil {
				t.Fatal(err)
			}
			return ok, probes
		}
		release := func(s testStore, holder string, probed bool) {
			t.Helper()
			if err := s.ReleaseLease(ctx, target, holder, probed); err != nil {
				t.Fatal(err)
			}
		}
		if ok, probes := take(one, "A", time.Hour); !ok || probes != 0 {
			t.Fatalf("A on a free lease: %v, %d probes", ok, probes)
		}
		if ok, probes := take(two, "B", time.Hour); ok || probes != 0 {
			t.Fatalf("B on the lease A holds: %v, %d probes", ok, probes)
		}
		if ok, _ := take(one, "A", time.Hour); !ok {
			t.Fatal("A could not renew its own lease")
		}
		release(two, "B", true) // not B's: no effect
		if ok, probes := take(two, "B", time.Hour); ok || probes != 0 {
			t.Fatalf("B's release freed or counted on A's lease: %v, %d", ok, probes)
		}
		release(one, "A", true) // A probed
		if ok, probes := take(two, "B", time.Millisecond); !ok || probes != 1 {
			t.Fatalf("B after A probed and released: %v, %d probes, want the lease and 1", ok, probes)
		}
		// B dies holding it: its lease expires and A takes over. Polled, bounded.
		deadline := time.Now().Add(10 * time.Second)
		for ok, _ := take(one, "A", time.Hour); !ok; ok, _ = take(one, "A", time.Hour) {
			if time.Now().After(deadline) {
				t.Fatal("B's expired lease was never taken over")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if ok, _ := take(two, "B", time.Hour); ok {
			t.Fatal("B took back the lease A took over")
		}
		release(two, "B", true) // B's late release: neither frees nor counts
		if ok, probes := take(two, "B", time.Hour); ok || probes != 1 {
			t.Fatalf("B's late release: %v, %d probes", ok, probes)
		}
		release(one, "A", false) // A found the answer there already: no probe counted
		if ok, probes := take(two, "B", time.Hour); !ok || probes != 1 {
			t.Fatalf("after A's release without a probe: %v, %d probes, want the lease and 1", ok, probes)
		}
	})
}

// Many members racing for one free lease: exactly one gets it.
func TestLeaseRace(t *testing.T) {
	forEach(t, func(t *testing.T, open func() (testStore, error)) {
		ctx := context.Background()
		stores := []testStore{mustOpen(t, open), mustOpen(t, open), mustOpen(t, open), mustOpen(t, open)}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				holder := string(rune('A' + i))
				ok, _, err := stores[i%len(stores)].TryLease(ctx, "race.example:443", holder, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("%d holders took the lease: %v", len(winners), winners)
		}
	})
}

// A database migrated by a newer build is refused with a hint, not written into.
func TestNewerSchemaRefused(t *testing.T) {
	forEach(t, func(t *testing.T, open func() (testStore, error)) {
		s := mustOpen(t, open)
		var err error
		switch s := s.(type) {
		case *SQLite:
			_, err = s.db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (?, 'from the future')`, SchemaVersion+1)
		case *Postgres:
			_, err = s.pool.Exec(context.Background(), `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, SchemaVersion+1)
		}
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err = open()
		if err == nil || !strings.Contains(err.Error(), "upgrade convergence-notary") {
			t.Fatalf("open of a newer schema: err = %v", err)
		}
	})
}

// A file made before migrations were versioned (the schema only) is taken as version 1.
func TestSQLiteUnversionedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, "old.example:443", time.Unix(1700000000, 0), []Sighting{{SHA256: "dd", SHA1: "DD", DER: []byte{4}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`DROP TABLE schema_migrations; DROP TABLE probe_leases`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("version %d, %v; want %d", v, err, SchemaVersion)
	}
	if h, err := s.History(ctx, "old.example:443"); err != nil || len(h) != 1 {
		t.Fatalf("old history: %+v %v", h, err)
	}
}
