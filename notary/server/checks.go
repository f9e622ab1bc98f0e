package server

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/store"
)

// runChecks runs the network check and the configured others on the answer's history.
func (n *Notary) runChecks(ctx context.Context, q Question, a Answer) []protocol.V2Check {
	var asked *store.Observation
	others := 0
	for i, o := range a.History {
		if q.asked() && q.matches(o) && n.fresh(o, a.Time) {
			asked = &a.History[i]
		} else if n.fresh(o, a.Time) {
			others++
		}
	}
	checks := []protocol.V2Check{n.networkCheck(q, a, asked, others)}
	if slices.Contains(n.cfg.Checks, protocol.CheckCA) {
		checks = append(checks, n.caCheck(q, asked))
	}
	if slices.Contains(n.cfg.Checks, protocol.CheckDANE) {
		checks = append(checks, n.daneCheck(ctx, q, asked))
	}
	for i := range checks {
		checks[i].Deciding = slices.Contains(n.cfg.Deciding, checks[i].Name)
	}
	return checks
}

func (n *Notary) networkCheck(q Question, a Answer, asked *store.Observation, others int) protocol.V2Check {
	c := protocol.V2Check{Name: protocol.CheckNetwork}
	switch {
	case !q.asked():
		c.Verdict, c.Detail = protocol.VerdictNoOpinion, "no fingerprint asked"
		if others == 0 && a.ProbeErr != nil {
			c.Verdict, c.Detail = protocol.VerdictError, a.ProbeErr.Error()
		}
	case asked != nil:
		c.Verdict = protocol.VerdictAgree
		c.Detail = fmt.Sprintf("seen %s ago, first seen %s", a.Time.Sub(asked.LastSeen).Round(time.Second), asked.FirstSeen.UTC().Format(time.RFC3339))
	case others > 0:
		c.Verdict = protocol.VerdictDisagree
		c.Detail = fmt.Sprintf("the notary sees %d other certificate(s) within the freshness window", others)
	case a.ProbeErr != nil:
		c.Verdict, c.Detail = protocol.VerdictError, a.ProbeErr.Error()
	default:
		c.Verdict, c.Detail = protocol.VerdictError, "no fresh observation"
	}
	return c
}

func (n *Notary) caCheck(q Question, asked *store.Observation) protocol.V2Check {
	c := protocol.V2Check{Name: protocol.CheckCA}
	switch {
	case asked == nil:
		c.Verdict, c.Detail = protocol.VerdictNoOpinion, "the notary has not received this certificate recently"
	case asked.CAValid:
		c.Verdict, c.Detail = protocol.VerdictAgree, "chain validates against the notary's system roots"
	default:
		c.Verdict, c.Detail = protocol.VerdictDisagree, asked.CADetail
	}
	return c
}

func (n *Notary) daneCheck(ctx context.Context, q Question, asked *store.Observation) protocol.V2Check {
	c := protocol.V2Check{Name: protocol.CheckDANE}
	if n.cfg.DANE == nil {
		c.Verdict, c.Detail = protocol.VerdictNoOpinion, "no validating resolver configured"
		return c
	}
	if !q.asked() {
		c.Verdict, c.Detail = protocol.VerdictNoOpinion, "no fingerprint asked"
		return c
	}
	var der []byte
	if asked != nil {
		der = asked.DER
	}
	c.Verdict, c.Detail = n.cfg.DANE.Verdict(ctx, q.Host, q.Port, der, q.SHA256)
	return c
}
