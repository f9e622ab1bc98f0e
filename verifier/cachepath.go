package verifier

import (
	"context"
	"crypto/x509"
	"slices"

	"github.com/convergence-ng/convergence/settings"
)

// The verdict cache's path through a check: a verdict the notaries made is kept
// (storeVerdict), and the next check of the same certificate takes it from memory or
// the store (lookupCache) while it still meets the rule.

// storeVerdict caches a trusted verdict that notaries vouched for, until the earlier
// of the cache TTL and the certificate's expiry. Rejections, undecided verdicts and
// verdicts let through by the no-answer setting are never cached: the next visit asks
// again.
func (v *Verifier) storeVerdict(ctx context.Context, vd Verdict, dec Decision, leaf *x509.Certificate, snap *snapshot) {
	ttl := snap.settings.CacheTTL
	if vd.Outcome != OutcomeTrusted || vd.Warning != "" || dec.Undecided || ttl <= 0 || dec.Agreed == 0 {
		return
	}
	now := v.now()
	expires := now.Add(ttl)
	if leaf.NotAfter.Before(expires) {
		expires = leaf.NotAfter
	}
	if !expires.After(now) {
		return
	}
	e := cached{
		vouchers: sortedVouchers(vd.Answers, snap.policy, now),
		answers:  vd.Answers,
		created:  now,
		expires:  expires,
	}
	// A notary revoked or switched off while this check ran must not have its word
	// kept, nor a verdict made under a rule the user has changed since (Reload cleared
	// the cache then).
	v.mu.Lock()
	cur := v.snap
	v.mu.Unlock()
	if cur.policy != snap.policy || !cur.stillPasses(vd.Target, e.vouchers) {
		return
	}
	k := cacheKey{vd.Target.Host, vd.Target.Port, vd.FingerprintSHA256}
	v.cache.put(k, e, now)
	// The memory cache has it; a store failure only costs a re-check after a restart.
	v.noteCacheWrite(k.host, v.store.PutCache(ctx, settings.CacheEntry{
		Host: k.host, Port: k.port, FingerprintSHA256: k.fp,
		Vouchers: e.vouchers, Created: now, Expires: expires,
	}))
	// A Reload that swapped the rule or the notaries after the check above may have
	// purged the cache before the put: take the entry back out.
	v.mu.Lock()
	cur = v.snap
	v.mu.Unlock()
	if cur.policy != snap.policy || !cur.stillPasses(vd.Target, e.vouchers) {
		v.cache.deleteWhere(func(ck cacheKey, _ cached) bool { return ck == k })
		_ = v.store.DeleteCacheEntry(ctx, k.host, k.port, k.fp)
	}
}

// noteCacheWrite logs the first of a run of failed verdict-cache writes (a full disk
// fails every one: a line per verdict would flood the log) and the first success after.
func (v *Verifier) noteCacheWrite(host string, err error) {
	if err == nil {
		if v.cacheFailing.Swap(false) {
			v.log.Info("verdicts are saved in the cache again")
		}
		return
	}
	if !v.cacheFailing.Swap(true) {
		v.log.Warn("failed to save verdicts in the cache; they are kept in memory until Convergence stops (logged once until a save succeeds)", "host", host, "err", err)
	}
}

// lookupCache returns the cached verdict for the certificate, from memory or else
// from the store (then kept in memory), when it still meets the rule counting only
// the notaries a check would ask now: a notary disabled, removed or revoked since no
// longer vouches. A failing store counts as a miss.
func (v *Verifier) lookupCache(ctx context.Context, base Verdict, snap *snapshot) (Verdict, bool) {
	ttl := snap.settings.CacheTTL
	if ttl <= 0 {
		return Verdict{}, false
	}
	now := v.now()
	k := cacheKey{base.Target.Host, base.Target.Port, base.FingerprintSHA256}
	e, ok := v.cache.get(k, now)
	if !ok {
		ce, err := v.store.LookupCache(ctx, k.host, k.port, k.fp, now)
		if err != nil {
			return Verdict{}, false
		}
		e = cached{vouchers: ce.Vouchers, created: ce.Created, expires: ce.Expires}
		for _, n := range ce.Vouchers {
			e.answers = append(e.answers, NotaryAnswer{Notary: n, Kind: AnswerAgree})
		}
		v.cache.put(k, e, now)
	}
	if !now.Before(e.created.Add(ttl)) {
		return Verdict{}, false // the TTL was shortened since the entry was made
	}
	d := snap.recount(base.Target, e.vouchers)
	if d.Outcome != OutcomeTrusted || d.Warning != "" {
		v.cache.deleteWhere(func(ck cacheKey, _ cached) bool { return ck == k })
		return Verdict{}, false
	}
	return cachedVerdict(base, e, d), true
}

// cachedVerdict builds the verdict for a cache hit from d, the recount of its vouchers
// among the notaries a check would ask now: its counts and its reason (the reason kept
// when the entry was made counted the notaries of then, and said "1 of 1" beside a
// verdict of "1 of 2", issue 19).
func cachedVerdict(base Verdict, e cached, d Decision) Verdict {
	vd := base
	vd.Outcome, vd.Source = OutcomeTrusted, SourceCache
	vd.Reason = "checked before: " + d.Reason
	vd.Answers = slices.Clone(e.answers)
	vd.Agreed, vd.Asked = d.Agreed, d.Asked
	return vd
}
