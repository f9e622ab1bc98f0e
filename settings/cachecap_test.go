package settings

import (
	"fmt"
	"testing"
	"time"
)

// TestPutCacheEvictsSoonestExpiring: beyond the cap, PutCache removes the entries that
// expire soonest (an expired one first) with their vouchers, never the one it puts.
func TestPutCacheEvictsSoonestExpiring(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	s.cacheCap = 5 // the same code path as 100,000; a hundredth of 5 is no extra
	t0 := time.Unix(1_700_000_000, 0)
	fixedClock(s, t0)
	put := func(host string, expires time.Time) {
		t.Helper()
		if err := s.PutCache(ctx, CacheEntry{Host: host, Port: 443, FingerprintSHA256: fp('a'), Vouchers: []string{"n1", "n2"}, Expires: expires}); err != nil {
			t.Fatal(err)
		}
	}
	// Put in an order unlike their expiry; "expired" expired before t0.
	for _, h := range []int{3, 1, 4, 2} {
		put(fmt.Sprintf("h%d.test", h), t0.Add(time.Duration(h)*time.Hour))
	}
	put("expired.test", t0.Add(-time.Minute))
	want := func(hosts ...string) {
		t.Helper()
		all, err := s.CacheEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range all {
			got = append(got, e.Host)
			if len(e.Vouchers) != 2 {
				t.Errorf("%s has vouchers %v", e.Host, e.Vouchers)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(hosts) {
			t.Errorf("cached = %v; want %v", got, hosts)
		}
		var vouchers int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM cache_vouchers").Scan(&vouchers); err != nil || vouchers != 2*len(hosts) {
			t.Errorf("voucher rows = %d, %v; want %d (none left of an evicted entry)", vouchers, err, 2*len(hosts))
		}
	}
	want("expired.test", "h1.test", "h2.test", "h3.test", "h4.test") // at the cap: all kept

	put("h5.test", t0.Add(5*time.Hour))
	want("h1.test", "h2.test", "h3.test", "h4.test", "h5.test")
	// The entry put is kept even when it expires soonest.
	put("soon.test", t0.Add(time.Minute))
	want("h2.test", "h3.test", "h4.test", "h5.test", "soon.test")
	// Replacing an entry adds none: nothing is evicted.
	put("h3.test", t0.Add(6*time.Hour))
	want("h2.test", "h3.test", "h4.test", "h5.test", "soon.test")
}

// TestPutCacheEvictsAHundredthMore: a full cache evicts a hundredth of the cap beyond
// what it must, so the next puts evict nothing.
func TestPutCacheEvictsAHundredthMore(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	s.cacheCap = 200
	exp := time.Now().Add(time.Hour)
	seedCache(t, s, 200, exp) // site-0 expires soonest, then site-1, ...
	count := func() int {
		t.Helper()
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM cache").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	changes := func() int64 {
		t.Helper()
		n, err := s.Changes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	c0 := changes()
	if err := s.PutCache(ctx, CacheEntry{Host: "new.test", Port: 443, FingerprintSHA256: fp('b'), Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 198 {
		t.Fatalf("after a put at the cap: %d entries; want 198 (201 less the one over and 2 more)", n)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.LookupCache(ctx, fmt.Sprintf("site-%d.test", i), 443, fmt.Sprintf("%064x", i), time.Now()); err != ErrNotFound {
			t.Errorf("site-%d, among the soonest to expire, was kept: %v", i, err)
		}
	}
	if _, err := s.LookupCache(ctx, "site-3.test", 443, fmt.Sprintf("%064x", 3), time.Now()); err != nil {
		t.Errorf("site-3 was evicted: %v", err)
	}
	c1 := changes()
	if c1 == c0 {
		t.Error("the eviction did not move the change counter")
	}
	for i := 0; i < 2; i++ {
		if err := s.PutCache(ctx, CacheEntry{Host: fmt.Sprintf("more-%d.test", i), Port: 443, FingerprintSHA256: fp('c'), Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if n, c := count(), changes(); n != 200 || c != c1 {
		t.Errorf("after 2 more puts: %d entries, change counter %d -> %d; want 200 and no eviction", n, c1, c)
	}
}
