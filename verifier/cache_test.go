package verifier

import (
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/settings"
)

// fakeClock is a settable clock for cache expiry (the only seam: time itself cannot
// be moved in a test).
type fakeClock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestCacheHitMissAndRestart(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{})
	e.add("a", modeHonest)
	e.add("b", modeHonest)
	first := e.verify(e.real)
	wantOutcome(t, first, OutcomeTrusted, SourceNotaries)
	asked := e.totalRequests()

	hit := e.verify(e.real)
	wantOutcome(t, hit, OutcomeTrusted, SourceCache)
	if e.totalRequests() != asked {
		t.Errorf("a cache hit asked the notaries")
	}
	if hit.Agreed != first.Agreed || len(hit.Answers) != len(first.Answers) {
		t.Errorf("cached verdict lost its evidence: %+v", hit)
	}
	// Rejections are not cached.
	e.verify(e.fake)
	before := e.totalRequests()
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)
	if e.totalRequests() == before {
		t.Error("a rejection was reused")
	}

	// A new verifier on the same store (an app restart) finds the entry in SQLite.
	if err := e.v.Close(); err != nil {
		t.Fatal(err)
	}
	e.start(Config{})
	asked = e.totalRequests()
	again := e.verify(e.real)
	wantOutcome(t, again, OutcomeTrusted, SourceCache)
	if e.totalRequests() != asked || again.Agreed != 2 {
		t.Errorf("restart: requests %d->%d, agreed %d", asked, e.totalRequests(), again.Agreed)
	}
	entries, err := e.store.CacheEntries(e.ctx)
	if err != nil || len(entries) != 1 || len(entries[0].Vouchers) != 2 {
		t.Fatalf("store entries %+v, %v", entries, err)
	}

	// Clearing one site, then everything.
	if n, err := e.v.ClearCacheSite(e.ctx, Target{Host: "SITE.example.", Port: 443}); err != nil || n != 1 {
		t.Fatalf("ClearCacheSite = %d, %v", n, err)
	}
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	if n, err := e.v.ClearCache(e.ctx); err != nil || n != 1 {
		t.Fatalf("ClearCache = %d, %v", n, err)
	}
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	if n, err := e.v.ClearCacheVouchedBy(e.ctx, "a"); err != nil || n != 1 {
		t.Fatalf("ClearCacheVouchedBy = %d, %v", n, err)
	}
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
}

func TestCacheTTLAndNotAfter(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	e := newEnv(t, func(s *settings.Settings) { s.CacheTTL = 2 * time.Hour; s.Threshold = settings.ThresholdOne })
	e.start(Config{now: clock.now, MaxClockSkew: 1000 * time.Hour})
	shortLived := testcerts.New(t, testcerts.Options{NotAfter: clock.now().Add(time.Hour)}, "site.example", "127.0.0.1").Cert
	e.add("a", modeHonest)
	e.addSeeing("b", modeHonest, shortLived, time.Now().Add(-48*time.Hour))

	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	wantOutcome(t, e.verify(shortLived), OutcomeTrusted, SourceNotaries)
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceCache)
	wantOutcome(t, e.verify(shortLived), OutcomeTrusted, SourceCache)

	clock.add(90 * time.Minute) // past the short-lived certificate's notAfter, within the TTL
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceCache)
	wantOutcome(t, e.verify(shortLived), OutcomeTrusted, SourceNotaries)

	clock.add(time.Hour) // past the TTL
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
}

func TestMemCacheBound(t *testing.T) {
	c := newMemCache(16)
	now := time.Now()
	for i := range 100 {
		c.put(cacheKey{host: "h", port: i + 1, fp: "f"}, cached{expires: now.Add(time.Duration(i+1) * time.Minute)}, now)
		if c.len() > 16 {
			t.Fatalf("cache holds %d entries, bound 16", c.len())
		}
	}
	if _, ok := c.get(cacheKey{host: "h", port: 100, fp: "f"}, now); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.get(cacheKey{host: "h", port: 100, fp: "f"}, now.Add(101*time.Minute)); ok {
		t.Error("an expired entry was returned")
	}
}

// TestRecountCachedVerdict: a cached verdict is counted again against the notaries a
// check would ask now: a voucher no longer asked (disabled, removed, revoked) no longer
// counts, and one added since is a missing vote.
func TestRecountCachedVerdict(t *testing.T) {
	maj := Policy{Threshold: settings.ThresholdMajority}
	names := func(ns ...string) []notaryInfo {
		out := make([]notaryInfo, len(ns))
		for i, n := range ns {
			out[i] = notaryInfo{Name: n}
		}
		return out
	}
	cases := []struct {
		name     string
		vouchers []string
		now      []notaryInfo // the notaries asked now
		max      int
		p        Policy
		want     bool
	}{
		{"majority 3 of 3, one gone: 2 of 2", []string{"a", "b", "c"}, names("b", "c"), 0, maj, true},
		{"majority 2 of 3, a voucher gone: 1 of 2", []string{"a", "b"}, names("b", "c"), 0, maj, false},
		{"majority 2 of 3, the dissenter gone: 2 of 2", []string{"a", "b"}, names("a", "b"), 0, maj, true},
		{"majority 2 of 3, a notary added: 2 of 4", []string{"a", "b"}, names("a", "b", "c", "d"), 0, maj, false},
		{"one keeps with another voucher", []string{"a", "b"}, names("b", "c", "d"), 0, Policy{Threshold: settings.ThresholdOne}, true},
		{"one drops the only voucher", []string{"a"}, names("b", "c"), 0, Policy{Threshold: settings.ThresholdOne}, false},
		{"3 of n with one voucher gone", []string{"a", "b", "c"}, names("b", "c", "d"), 0, Policy{Threshold: settings.ThresholdKOfN, K: 3}, false},
		{"all keeps the rest", []string{"a", "b", "c"}, names("b", "c"), 0, Policy{Threshold: settings.ThresholdAll}, true},
		{"all with a notary added", []string{"a", "b"}, names("a", "b", "c"), 0, Policy{Threshold: settings.ThresholdAll}, false},
		{"a voucher whose name is reused by nobody asked", []string{"x"}, names("a"), 0, Policy{Threshold: settings.ThresholdOne}, false},
		{"no-answer allow never keeps a short verdict", []string{"a"}, names("a", "b", "c"), 0, Policy{Threshold: settings.ThresholdMajority, NoAnswer: settings.NoAnswerAllowWarn}, false},
		{"no notary left", []string{"a"}, nil, 0, Policy{Threshold: settings.ThresholdOne, NoAnswer: settings.NoAnswerAllowWarn}, false},
	}
	for _, c := range cases {
		s := &snapshot{notaries: c.now, policy: c.p, subsetKey: make([]byte, 32)}
		s.settings.MaxNotaries = c.max
		if got := s.stillPasses(Target{Host: "shop.test", Port: 443}, c.vouchers); got != c.want {
			t.Errorf("%s: stillPasses = %v, want %v (%s)", c.name, got, c.want, s.recount(Target{Host: "shop.test", Port: 443}, c.vouchers).Reason)
		}
	}
}

func TestPolicyChangeClearsCache(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.Threshold = settings.ThresholdOne })
	e.start(Config{})
	e.add("a", modeHonest)
	e.addSeeing("liar", modeHonest, e.fake, time.Now().Add(-30*24*time.Hour))
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourceNotaries) // one liar suffices
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourceCache)
	s, err := e.store.Settings(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Threshold = settings.ThresholdAll
	if err := e.store.SaveSettings(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Reload(e.ctx); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)
}

// TestCachedVerdictSaysItsRecount: a verdict cached when one notary vouched, used
// after a second notary was added, gives the counts and the reason of its recount, one
// wording. Before issue 19 it kept the reason of then beside the counts of now, and the
// terminal printed "TRUSTED (1 of 2 notaries agree): checked before: 1 of 1 notaries
// vouched".
func TestCachedVerdictSaysItsRecount(t *testing.T) {
	s := &snapshot{notaries: []notaryInfo{{Name: "a"}, {Name: "b"}}, policy: Policy{Threshold: settings.ThresholdOne}, subsetKey: make([]byte, 32)}
	target := Target{Host: "shop.test", Port: 443}
	e := cached{vouchers: []string{"a"}, answers: []NotaryAnswer{{Notary: "a", Kind: AnswerAgree}}}
	vd := cachedVerdict(Verdict{Target: target}, e, s.recount(target, e.vouchers))
	want := "checked before: 1 of 2 agreed, 1 not needed (the rule needs at least one)"
	if vd.Reason != want || vd.Agreed != 1 || vd.Asked != 2 || vd.Outcome != OutcomeTrusted || vd.Source != SourceCache {
		t.Errorf("cached verdict = %s, %q, %d of %d; want trusted from the cache, %q, 1 of 2", vd.Outcome, vd.Reason, vd.Agreed, vd.Asked, want)
	}
}
