package verifier

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
)

// pickNotaries returns all notaries, or at most max of them when max is positive
// (privacy: no notary sees every site; load: fewer queries). The result is read only:
// it may be all itself. The subset is the site's
// own and stable: the max notaries whose keyed hash of (site, notary) ranks lowest,
// keyed with the install's secret (rendezvous hashing). Every check of a site asks the
// same notaries, so retrying a page until the draw favours a hijacked notary cannot
// work, and adding or removing a notary moves only the sites it ranks for. The
// secret keeps an observer from computing which notaries see which site.
func pickNotaries(all []notaryInfo, max int, key []byte, t Target) []notaryInfo {
	if max <= 0 || len(all) <= max {
		return all // read only, as the snapshot it comes from: no copy on a cache hit's recount
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
	groupOf := snap.groupsFor(notaries) // notaries that are one count as one vote (groups.go)

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
	votes, pendingVotes := groupedVotes(notaries, answers, heard, groupOf)
	dec, settled := Settled(votes, pendingVotes, policy, v.now())
	pending := len(notaries)
	for pending > 0 && !settled {
		select {
		case r := <-results:
			answers[r.i], heard[r.i] = r.a, true
			pending--
			votes, pendingVotes = groupedVotes(notaries, answers, heard, groupOf)
			dec, settled = Settled(votes, pendingVotes, policy, v.now())
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
	vd.Outcome, vd.Reason, vd.Warning, vd.Undecided, vd.Code = dec.Outcome, dec.Reason, dec.Warning, dec.Undecided, dec.Code
	vd.Answers, vd.Agreed, vd.Asked = answers, dec.Agreed, len(notaries)
	if note := groupNote(notaries, groupOf); note != "" {
		vd.Asked = dec.Asked // votes, as Agreed counts them
		vd.Reason += "; " + note
	}
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
