package verifier

import (
	"slices"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/settings"
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
	answers  []NotaryAnswer
	created  time.Time
	expires  time.Time
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

// recount applies the snapshot's rule to a cached verdict as if it were asked now:
// its vouchers among the notaries a check of t would ask now vouch, every other
// notary asked now is a missing vote. A notary disabled, removed or revoked since the
// verdict was made is not asked now, so its word no longer counts; one added since has
// not vouched. The vouchers were old enough when they vouched.
func (s *snapshot) recount(t Target, vouchers []string) Decision {
	asked := s.askedFor(t)
	answers := make([]NotaryAnswer, 0, len(asked))
	for _, n := range asked {
		kind := AnswerNotAsked
		if slices.Contains(vouchers, n.Name) {
			kind = AnswerAgree
		}
		answers = append(answers, NotaryAnswer{Notary: n.Name, Kind: kind})
	}
	answers = GroupAnswers(answers, s.groupsFor(asked))
	q := s.policy
	q.MinAgreeAge = 0                   // the vouchers were old enough when they vouched
	q.NoAnswer = settings.NoAnswerBlock // a verdict short of votes is no verdict to reuse
	return Decide(answers, q, time.Time{})
}

// stillPasses reports whether a cached verdict for t with these vouchers still meets
// the snapshot's rule (recount).
func (s *snapshot) stillPasses(t Target, vouchers []string) bool {
	d := s.recount(t, vouchers)
	return d.Outcome == OutcomeTrusted && d.Warning == ""
}

// sortedVouchers returns the names of the notaries that vouched in answers.
func sortedVouchers(answers []NotaryAnswer, p Policy, now time.Time) []string {
	var out []string
	for _, a := range answers {
		if classOf(a, p, now).vouch == 1 {
			out = append(out, a.Notary)
		}
	}
	slices.Sort(out)
	return out
}
