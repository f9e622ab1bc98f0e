package verifier

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/convergence-ng/convergence/settings"
)

// pickNotaries returns all notaries, or at most max of them when max is positive
// (privacy: no notary sees every site; load: fewer queries). The subset is the site's
// own and stable: the max notaries whose keyed hash of (site, notary) ranks lowest,
// keyed with the install's secret (rendezvous hashing). Every check of a site asks the
// same notaries, so retrying a page until the draw favours a hijacked notary cannot
// work, and adding or removing a notary moves only the sites it ranks for. The
// secret keeps an observer from computing which notaries see which site.
func pickNotaries(all []notaryInfo, max int, key []byte, t Target) []notaryInfo {
	if max <= 0 || len(all) <= max {
		return slices.Clone(all)
	}
	type ranked struct {
		n    notaryInfo
		rank []byte
	}
	rs := make([]ranked, len(all))
	site := t.String()
	for i, n := range all {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(site))
		m.Write([]byte{0})
		m.Write([]byte(n.Name))
		rs[i] = ranked{n, m.Sum(nil)}
	}
	slices.SortFunc(rs, func(a, b ranked) int { return bytes.Compare(a.rank, b.rank) })
	out := make([]notaryInfo, 0, max)
	for _, r := range rs[:max] {
		out = append(out, r.n)
	}
	return out
}

// askNotaries fans the question out to the notaries, one goroutine each with its own
// deadline (QueryTimeout). A failure is recorded in that notary's answer and never
// cancels the others. It returns as soon as the verdict can no longer change
// (Settled); the notaries not yet heard from are marked AnswerNotAsked in the verdict.
// Their queries go on in the background until they answer or time out (or Close), so
// that a notary that disagrees late is still reported: see followUp.
func (v *Verifier) askNotaries(ctx context.Context, base Verdict, leaf *x509.Certificate) (Verdict, error) {
	snap, err := v.snapshot(ctx)
	if err != nil {
		return Verdict{}, err
	}
	notaries := snap.askedFor(base.Target)
	policy := snap.policy

	// The queries belong to the verifier, not to the caller: they may outlive this
	// call (followUp). They end at their deadline, when the caller gives up before the
	// verdict is settled, or at Close.
	qctx, cancel := context.WithCancel(v.ctx)
	results := make(chan notaryResult, len(notaries)) // buffered: late answers never block
	for i, n := range notaries {
		if !v.begin() {
			cancel()
			return Verdict{}, ErrClosed
		}
		go func() {
			defer v.wg.Done()
			nctx, ncancel := context.WithTimeout(qctx, v.cfg.QueryTimeout)
			defer ncancel()
			results <- notaryResult{i, v.client.query(nctx, n, base.Target, leaf)}
		}()
	}

	answers := make([]NotaryAnswer, len(notaries))
	heard := make([]bool, len(notaries))
	var sofar []NotaryAnswer
	dec, settled := Settled(nil, len(notaries), policy, v.now())
	pending := len(notaries)
	for pending > 0 && !settled {
		select {
		case r := <-results:
			answers[r.i], heard[r.i] = r.a, true
			sofar = append(sofar, r.a)
			pending--
			dec, settled = Settled(sofar, pending, policy, v.now())
		case <-ctx.Done():
			cancel()
			return Verdict{}, fmt.Errorf("failed to ask notaries: %w", ErrClosed)
		}
	}
	for i, n := range notaries {
		if !heard[i] {
			answers[i] = NotaryAnswer{Notary: n.Name, Kind: AnswerNotAsked, Err: "not waited for: the verdict was settled first"}
		}
	}

	vd := base
	vd.Source = SourceNotaries
	vd.Outcome, vd.Reason, vd.Warning, vd.Undecided = dec.Outcome, dec.Reason, dec.Warning, dec.Undecided
	vd.Answers, vd.Agreed, vd.Asked = answers, dec.Agreed, len(notaries)
	vd.Time = v.now()
	if len(notaries) == 0 {
		vd.Reason = "no notary is enabled; " + vd.Reason
		if vd.Warning != "" {
			vd.Warning = "not verified: no notary is enabled"
		}
	}
	v.storeVerdict(ctx, vd, dec, leaf, snap)
	v.emitVerdict(vd)
	if pending == 0 || !v.begin() {
		cancel()
		return vd, nil
	}
	go func() { // ends when every pending query has answered or timed out
		defer v.wg.Done()
		defer cancel()
		v.followUp(vd, heard, pending, results)
	}()
	return vd, nil
}

// notaryResult is one notary's answer, by its index in the fan-out.
type notaryResult struct {
	i int
	a NotaryAnswer
}

// followUp collects the answers that came after the verdict was settled. The verdict
// stands (it could no longer change), but a late answer can still be news the user
// must hear: a notary that saw another certificate, when the verdict did not show a
// disagreement, is reported as EventDisagree with every answer filled in; an answer
// that failed authentication as EventNotaryImpersonated.
func (v *Verifier) followUp(vd Verdict, heard []bool, pending int, results <-chan notaryResult) {
	full := vd
	full.Answers = slices.Clone(vd.Answers)
	var late []NotaryAnswer
	for ; pending > 0; pending-- {
		r := <-results // every query sends once, by its deadline at the latest
		full.Answers[r.i] = r.a
		heard[r.i] = true
		late = append(late, r.a)
	}
	full.Agreed = 0
	for _, a := range full.Answers {
		if a.Kind == AnswerAgree {
			full.Agreed++
		}
	}
	if v.cfg.OnEvent == nil {
		return
	}
	at := v.now()
	for _, a := range late {
		if a.Kind == AnswerUnauthentic {
			v.cfg.OnEvent(Event{Kind: EventNotaryImpersonated, Verdict: full, Notary: a.Notary, Time: at})
		}
	}
	if vd.Disagreement() || !full.Disagreement() {
		return
	}
	v.cfg.OnEvent(Event{Kind: EventDisagree, Verdict: full, Time: at})
}

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
		reason:   vd.Reason,
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
	_ = v.store.PutCache(ctx, settings.CacheEntry{
		Host: k.host, Port: k.port, FingerprintSHA256: k.fp,
		Vouchers: e.vouchers, Created: now, Expires: expires,
	})
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

// emitVerdict reports a verdict to the listener: verified or rejected, notaries
// disagree when they were split, one notary-unreachable event per notary that gave no
// usable answer, and one notary-impersonated event per answer that failed
// authentication. No lock is held.
func (v *Verifier) emitVerdict(vd Verdict) {
	if v.cfg.OnEvent == nil {
		return
	}
	at := v.now()
	kind := EventRejected
	if vd.Allowed() {
		kind = EventVerified
	}
	v.cfg.OnEvent(Event{Kind: kind, Verdict: vd, Time: at})
	if vd.Disagreement() {
		v.cfg.OnEvent(Event{Kind: EventDisagree, Verdict: vd, Time: at})
	}
	for _, a := range vd.Answers {
		switch a.Kind {
		case AnswerUnreachable, AnswerInvalid:
			v.cfg.OnEvent(Event{Kind: EventNotaryUnreachable, Verdict: vd, Notary: a.Notary, Time: at})
		case AnswerUnauthentic:
			v.cfg.OnEvent(Event{Kind: EventNotaryImpersonated, Verdict: vd, Notary: a.Notary, Time: at})
		}
	}
}

// cachedVerdict builds the verdict for a cache hit: agreed counts the vouchers among
// the notaries a check would ask now.
func cachedVerdict(base Verdict, e cached, agreed, asked int) Verdict {
	vd := base
	vd.Outcome, vd.Source = OutcomeTrusted, SourceCache
	vd.Reason = "checked before: " + e.reason
	vd.Answers = slices.Clone(e.answers)
	vd.Agreed, vd.Asked = agreed, asked
	return vd
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
		e = cached{vouchers: ce.Vouchers, created: ce.Created, expires: ce.Expires, reason: fmt.Sprintf("%d notaries vouched", len(ce.Vouchers))}
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
	return cachedVerdict(base, e, d.Agreed, d.Asked), true
}
