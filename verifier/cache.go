package verifier

import (
	"slices"
	"sync"
	"time"
)

// DefaultMemoryCacheSize bounds the in-memory verdict cache.
const DefaultMemoryCacheSize = 4096

// cacheKey names one certificate at one site.
type cacheKey struct {
	host string
	port int
	fp   string
}

// cached is a trusted verdict kept for reuse.
type cached struct {
	vouchers []string // notaries that vouched, sorted
	// against is how many counted notaries did not vouch; only meaningful when
	// againstKnown (entries read back from SQLite do not carry it).
	against      int
	againstKnown bool
	answers      []NotaryAnswer
	reason       string
	asked        int
	created      time.Time
	expires      time.Time
}

// memCache is a bounded map of trusted verdicts in front of the store. Safe for
// concurrent use.
type memCache struct {
	max int

	mu sync.Mutex // protects m
	m  map[cacheKey]cached
}

func newMemCache(max int) *memCache {
	if max <= 0 {
		max = DefaultMemoryCacheSize
	}
	return &memCache{max: max, m: make(map[cacheKey]cached)}
}

// get returns the unexpired entry for k.
func (c *memCache) get(k cacheKey, now time.Time) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return cached{}, false
	}
	if !now.Before(e.expires) {
		delete(c.m, k)
		return cached{}, false
	}
	return e, true
}

// put stores e under k, evicting when full: expired entries first, else the one that
// expires soonest among a few sampled (map order is random).
func (c *memCache) put(k cacheKey, e cached, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		var victim cacheKey
		var soonest time.Time
		sampled := 0
		for vk, ve := range c.m {
			if !now.Before(ve.expires) {
				victim = vk
				break
			}
			if sampled == 0 || ve.expires.Before(soonest) {
				victim, soonest = vk, ve.expires
			}
			sampled++
			if sampled == 8 {
				break
			}
		}
		delete(c.m, victim)
	}
	c.m[k] = e
}

// deleteWhere removes every entry for which drop returns true and returns how many.
func (c *memCache) deleteWhere(drop func(cacheKey, cached) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, e := range c.m {
		if drop(k, e) {
			delete(c.m, k)
			n++
		}
	}
	return n
}

// len returns the number of entries.
func (c *memCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// stillPasses reports whether a cached trusted verdict would still pass policy p if
// the notaries in gone had not vouched (they were revoked). The vouchers are counted as
// old-enough agreements. When the number of notaries that did not vouch is unknown
// (an entry read back from the store), it assumes the narrowest margin the verdict
// could have passed with under p: for a majority, one fewer than the vouchers; for
// the other rules the number does not matter (all: none can have been against).
func stillPasses(vouchers []string, against int, againstKnown bool, gone map[string]bool, p Policy) bool {
	left := 0
	for _, v := range vouchers {
		if !gone[v] {
			left++
		}
	}
	if !againstKnown {
		against = 0
		if p.Threshold != ThresholdAll && p.Threshold != ThresholdOne && p.Threshold != ThresholdKOfN {
			against = max(len(vouchers)-1, 0)
		}
	}
	// Revoked notaries that vouched now abstain: they leave both counts.
	answers := make([]NotaryAnswer, 0, left+against)
	for range left {
		answers = append(answers, NotaryAnswer{Kind: AnswerAgree})
	}
	for range against {
		answers = append(answers, NotaryAnswer{Kind: AnswerDisagree})
	}
	q := p
	q.MinAgreeAge = 0 // the vouchers were old enough when they vouched
	q.NoAnswer = ""   // nobody left to vouch is never a pass
	d := Decide(answers, q, time.Time{})
	return d.Outcome == OutcomeTrusted && d.Warning == ""
}

// sortedVouchers returns the names of the notaries that vouched in answers.
func sortedVouchers(answers []NotaryAnswer, p Policy, now time.Time) []string {
	var out []string
	for _, a := range answers {
		if classify([]NotaryAnswer{a}, p, now).vouch == 1 {
			out = append(out, a.Notary)
		}
	}
	slices.Sort(out)
	return out
}
