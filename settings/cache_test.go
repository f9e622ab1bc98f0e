package settings

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fp returns a distinct valid fingerprint for c.
func fp(c byte) string { return strings.Repeat(string([]byte{c}), 64) }

func TestCacheExpiryAndLookup(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	t0 := time.Unix(1_700_000_000, 0)
	fixedClock(s, t0)
	entries := []CacheEntry{
		{Host: "Example.ORG.", Port: 443, FingerprintSHA256: strings.ToUpper(fp('a')), Vouchers: []string{"n2", "n1"}, Expires: t0.Add(time.Hour)},
		{Host: "example.org", Port: 443, FingerprintSHA256: fp('b'), Vouchers: []string{"n1"}, Expires: t0.Add(2 * time.Hour)},
		{Host: "[::1]", Port: 8443, FingerprintSHA256: fp('c'), Expires: t0.Add(3 * time.Hour)},
	}
	for _, e := range entries {
		if err := s.PutCache(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.CacheEntries(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("CacheEntries = %+v, %v", all, err)
	}
	if all[0].Host != "::1" || all[1].Host != "example.org" || all[1].FingerprintSHA256 != fp('a') {
		t.Errorf("hosts and fingerprints not normalised: %+v", all)
	}
	if v := all[1].Vouchers; len(v) != 2 || v[0] != "n1" || v[1] != "n2" {
		t.Errorf("vouchers = %v, want [n1 n2]", v)
	}
	if !all[1].Created.Equal(t0) || !all[1].Expires.Equal(t0.Add(time.Hour)) {
		t.Errorf("times = %v, %v", all[1].Created, all[1].Expires)
	}

	at := t0.Add(90 * time.Minute) // the first entry has expired
	if _, err := s.LookupCache(ctx, "example.org", 443, fp('a'), at); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupCache of an expired entry: %v, want ErrNotFound", err)
	}
	e, err := s.LookupCache(ctx, "EXAMPLE.org", 443, fp('b'), at)
	if err != nil || e.FingerprintSHA256 != fp('b') {
		t.Errorf("LookupCache of a live entry: %+v, %v", e, err)
	}
	if _, err := s.LookupCache(ctx, "example.org", 8443, fp('b'), at); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupCache on another port: %v, want ErrNotFound", err)
	}
	n, err := s.PurgeExpiredCache(ctx, at)
	if err != nil || n != 1 {
		t.Errorf("PurgeExpiredCache = %d, %v; want 1", n, err)
	}
	all, _ = s.CacheEntries(ctx)
	if len(all) != 2 {
		t.Errorf("after purge %d entries, want 2", len(all))
	}
	var vouchers int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM cache_vouchers").Scan(&vouchers); err != nil || vouchers != 1 {
		t.Errorf("cache_vouchers holds %d, %v; want 1 (the purged entry's went with it)", vouchers, err)
	}

	// Replacing an entry replaces its vouchers.
	if err := s.PutCache(ctx, CacheEntry{Host: "example.org", Port: 443, FingerprintSHA256: fp('b'), Vouchers: []string{"n3"}, Expires: t0.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e, err = s.LookupCache(ctx, "example.org", 443, fp('b'), at)
	if err != nil || len(e.Vouchers) != 1 || e.Vouchers[0] != "n3" || !e.Expires.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("replaced entry = %+v, %v", e, err)
	}

	for _, bad := range []CacheEntry{
		{Host: "", Port: 443, FingerprintSHA256: fp('a'), Expires: at},
		{Host: "h", Port: 0, FingerprintSHA256: fp('a'), Expires: at},
		{Host: "h", Port: 443, FingerprintSHA256: "abc", Expires: at},
		{Host: "h", Port: 443, FingerprintSHA256: fp('a')},
	} {
		if err := s.PutCache(ctx, bad); err == nil {
			t.Errorf("PutCache(%+v) accepted a bad entry", bad)
		}
	}
}

func TestCacheDeletes(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	exp := time.Now().Add(time.Hour)
	put := func(host string, port int, f string, vouchers ...string) {
		t.Helper()
		if err := s.PutCache(ctx, CacheEntry{Host: host, Port: port, FingerprintSHA256: f, Vouchers: vouchers, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	put("a.test", 443, fp('1'), "n1", "n2")
	put("a.test", 443, fp('2'), "n2")
	put("a.test", 8443, fp('1'), "n1")
	put("b.test", 443, fp('3'), "n3")
	put("c.test", 443, fp('4'))

	n, err := s.DeleteCacheVouchedBy(ctx, "n1")
	if err != nil || n != 2 {
		t.Fatalf("DeleteCacheVouchedBy(n1) = %d, %v; want 2", n, err)
	}
	left, _ := s.CacheEntries(ctx)
	if len(left) != 3 {
		t.Fatalf("left %+v, want 3 entries", left)
	}
	for _, e := range left {
		for _, v := range e.Vouchers {
			if v == "n1" {
				t.Errorf("an entry vouched by n1 survived: %+v", e)
			}
		}
	}
	if n, err := s.DeleteCacheVouchedBy(ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteCacheVouchedBy(nobody) = %d, %v", n, err)
	}
	if err := s.DeleteCacheEntry(ctx, "a.test", 443, fp('2')); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCacheEntry(ctx, "a.test", 443, fp('2')); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteCacheEntry: %v, want ErrNotFound", err)
	}
	if n, err := s.DeleteCache(ctx, "B.test", 443); err != nil || n != 1 {
		t.Errorf("DeleteCache(b.test) = %d, %v; want 1", n, err)
	}
	if n, err := s.ClearCache(ctx); err != nil || n != 1 {
		t.Errorf("ClearCache = %d, %v; want 1", n, err)
	}
	var vouchers int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM cache_vouchers").Scan(&vouchers); err != nil || vouchers != 0 {
		t.Errorf("cache_vouchers holds %d rows, %v; want 0", vouchers, err)
	}
}

func TestPins(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	var parts []string
	for i := 0; i < 64; i += 2 {
		parts = append(parts, strings.ToUpper(fp('e')[i:i+2]))
	}
	withColons := strings.Join(parts, ":")
	if err := s.AddPin(ctx, "Intranet.Example.", 443, withColons, "self-signed, checked by phone"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPin(ctx, "intranet.example", 443, fp('e'), "new note"); err != nil {
		t.Fatal(err)
	}
	pins, err := s.Pins(ctx)
	if err != nil || len(pins) != 1 {
		t.Fatalf("Pins = %+v, %v; want one pin", pins, err)
	}
	if p := pins[0]; p.Host != "intranet.example" || p.FingerprintSHA256 != fp('e') || p.Note != "new note" || p.Created.IsZero() {
		t.Errorf("pin = %+v", p)
	}
	if ok, err := s.Pinned(ctx, "INTRANET.example", 443, fp('e')); err != nil || !ok {
		t.Errorf("Pinned = %v, %v; want true", ok, err)
	}
	if ok, err := s.Pinned(ctx, "intranet.example", 443, fp('f')); err != nil || ok {
		t.Errorf("Pinned(other fp) = %v, %v; want false", ok, err)
	}
	if err := s.AddPin(ctx, "h", 443, "not hex", ""); err == nil {
		t.Error("AddPin accepted a bad fingerprint")
	}
	if err := s.DeletePin(ctx, "intranet.example", 443, fp('e')); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePin(ctx, "intranet.example", 443, fp('e')); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeletePin: %v, want ErrNotFound", err)
	}
}
