package server

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/store"
)

// CheckInfo describes one check a notary can run on the certificate it is asked about:
// the serve command's --checks and --decide flags, their usage and their defaults are
// derived from the list (Checks), so a new check is one entry in checkRegistry and the
// function that runs it.
type CheckInfo struct {
	Name      string // as in the v2 answer and the flags
	Help      string // one line for the usage text
	Always    bool   // run on every answer (the network perspective); not named in --checks
	ByDefault bool   // run when --checks is not given
	// Decides is set for the check that decides the status when --decide is not given.
	Decides bool
	// NeedsResolver is set for a check that cannot decide without --dane-resolver.
	NeedsResolver bool
}

// checkDef is a check with the function that runs it.
type checkDef struct {
	CheckInfo
	run func(n *Notary, ctx context.Context, q Question, a Answer, asked *store.Observation, others int) protocol.V2Check
}

// checkRegistry lists every check, in the order answers give them.
var checkRegistry = []checkDef{
	{CheckInfo{Name: protocol.CheckNetwork, Help: "the certificate the notary sees from where it stands", Always: true, Decides: true},
		func(n *Notary, _ context.Context, q Question, a Answer, asked *store.Observation, others int) protocol.V2Check {
			return n.networkCheck(q, a, asked, others)
		}},
	{CheckInfo{Name: protocol.CheckCA, Help: "whether the chain validates against the notary's system roots", ByDefault: true},
		func(n *Notary, _ context.Context, q Question, _ Answer, asked *store.Observation, _ int) protocol.V2Check {
			return n.caCheck(q, asked)
		}},
	{CheckInfo{Name: protocol.CheckDANE, Help: "the site's TLSA records, through a validating resolver", ByDefault: true, NeedsResolver: true},
		func(n *Notary, ctx context.Context, q Question, _ Answer, asked *store.Observation, _ int) protocol.V2Check {
			return n.daneCheck(ctx, q, asked)
		}},
}

// Checks returns every check a notary can run, in the order answers give them.
func Checks() []CheckInfo {
	out := make([]CheckInfo, len(checkRegistry))
	for i, c := range checkRegistry {
		out[i] = c.CheckInfo
	}
	return out
}

// runChecks runs the checks that always run and the configured others on the
// answer's history.
func (n *Notary) runChecks(ctx context.Context, q Question, a Answer) []protocol.V2Check {
	var asked *store.Observation
	others := 0
	for i, o := range a.History {
		if q.asked() && q.matches(o) && n.fresh(o, a.Time) {
			asked = &a.History[i]
			if a.view != nil && i < len(a.view.agreed) {
				a.askedDetail = a.view.agreed[i]
			}
		} else if n.fresh(o, a.Time) {
			others++
		}
	}
	checks := make([]protocol.V2Check, 0, len(checkRegistry))
	for _, def := range checkRegistry {
		if def.Always || slices.Contains(n.cfg.Checks, def.Name) {
			c := def.run(n, ctx, q, a, asked, others)
			c.Deciding = slices.Contains(n.cfg.Deciding, c.Name)
			checks = append(checks, c)
		}
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
		c.Verdict, c.Detail = protocol.VerdictAgree, a.askedDetail
		if c.Detail == "" {
			c.Detail = agreeDetail(*asked)
		}
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

// agreeDetail is the network check's detail when it agrees: the times of the
// observation only (not "seen 10s ago"), so the answer stays the same from one second to
// the next and can be prepared once.
func agreeDetail(o store.Observation) string {
	return "last seen " + o.LastSeen.UTC().Format(time.RFC3339) + ", first seen " + o.FirstSeen.UTC().Format(time.RFC3339)
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
