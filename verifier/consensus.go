package verifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// The rules and the no-answer choices are the settings store's types (one definition:
// settings.Threshold and settings.NoAnswerPolicy). Every rule is counted against the
// notaries asked, not the ones that answered: a notary that could not be reached is a
// vote that is missing, never one that is not needed.

// Policy is the consensus rule: the user's threshold settings.
type Policy struct {
	Threshold settings.Threshold
	// K is the number of vouching notaries needed with settings.ThresholdKOfN; values below 1
	// count as 1.
	K int
	// MinAgreeAge, when positive, is how long a notary must have seen the certificate
	// (NotaryAnswer.AgreedSince) for its agreement to count as vouching. A younger
	// agreement counts against, like a disagreement (Perspectives' quorum duration).
	MinAgreeAge time.Duration
	// UnreachableCountsAgainst makes unreachable answers count as votes against; by
	// default they are votes missing, which leave the verdict undecided.
	UnreachableCountsAgainst bool
	// NoAnswer decides an undecided verdict: too few notaries could be reached to meet
	// the rule, and those that answered did not rule it out. Empty means settings.NoAnswerBlock.
	NoAnswer settings.NoAnswerPolicy
}

// Decision is the outcome of the consensus rule with the counts behind it.
type Decision struct {
	Outcome Outcome
	Reason  string // one line in plain words
	Warning string // set when let through although undecided (settings.NoAnswerAllowWarn)
	// Undecided is set when the rule was not met because notaries could not be
	// reached, not because the answers ruled the certificate out.
	Undecided bool
	Asked     int // notaries asked
	Needed    int // vouches the rule needs out of Asked
	Agreed    int // notaries that vouched
	Against   int // notaries that counted against (disagree, too young, unauthentic, failed if counted)
	Failed    int // notaries that gave no usable answer (unreachable, broken, no opinion, not waited for)
	// Unauthentic is how many answers failed authentication: evidence that someone
	// impersonates those notaries on this network. They are counted in Against.
	Unauthentic int
	// Code is the machine-readable reason (reasonCode), the one every surface shows.
	Code ReasonCode
}

// tally holds the counts the rule depends on: every answer falls in one class.
type tally struct {
	vouch       int // agreed, old enough
	young       int // agreed, but not seen for MinAgreeAge
	against     int // disagreed
	unauthentic int // failed authentication: counts against
	unreachable int // no answer, a broken answer, busy (429/503): counts against when the policy says so
	silent      int // no opinion, or not waited for: never counts against
	notNeeded   int // of silent: not waited for (only words it: countsOfTally)
}

func (t tally) asked() int {
	return t.vouch + t.young + t.against + t.unauthentic + t.unreachable + t.silent
}

// classOf returns the tally of one answer under p at time now.
func classOf(a NotaryAnswer, p Policy, now time.Time) tally {
	switch a.Kind {
	case AnswerAgree:
		if p.MinAgreeAge > 0 && (a.AgreedSince.IsZero() || now.Sub(a.AgreedSince) < p.MinAgreeAge) {
			return tally{young: 1}
		}
		return tally{vouch: 1}
	case AnswerDisagree:
		return tally{against: 1}
	case AnswerUnauthentic:
		return tally{unauthentic: 1}
	case AnswerUnreachable, AnswerInvalid:
		return tally{unreachable: 1}
	}
	if a.Kind == AnswerNotAsked {
		return tally{silent: 1, notNeeded: 1}
	}
	return tally{silent: 1} // no opinion
}

// classify returns the tally of answers under p at time now.
func classify(answers []NotaryAnswer, p Policy, now time.Time) tally {
	var t tally
	for _, a := range answers {
		c := classOf(a, p, now)
		t.vouch += c.vouch
		t.young += c.young
		t.against += c.against
		t.unauthentic += c.unauthentic
		t.unreachable += c.unreachable
		t.silent += c.silent
		t.notNeeded += c.notNeeded
	}
	return t
}

// needed is how many vouches p needs out of asked notaries (settings.Threshold.Needed).
func needed(p Policy, asked int) int { return p.Threshold.Needed(p.K, asked) }

// Decide applies the consensus rule p to the answers of every notary asked, at time
// now. It is a pure function: no I/O, and now is the only clock it reads.
//
// The rule is met when enough notaries vouch out of those asked (Needed of Asked).
// When it is not, the verdict is rejected if the answers rule the certificate out
// whatever the missing notaries would have said, and undecided otherwise: then
// p.NoAnswer decides (block, or let through with a warning when no answer counted
// against). An agreement younger
// than p.MinAgreeAge, a disagreement and an answer that failed authentication count
// against; an unreachable notary is a missing vote (against with
// p.UnreachableCountsAgainst); a notary with no opinion is a missing vote.
func Decide(answers []NotaryAnswer, p Policy, now time.Time) Decision {
	return decideTally(classify(answers, p, now), p)
}

func decideTally(t tally, p Policy) Decision {
	d := decideCounts(t, p)
	d.Code = reasonCode(t, d)
	return d
}

func decideCounts(t tally, p Policy) Decision {
	asked := t.asked()
	d := Decision{
		Asked: asked, Needed: needed(p, asked), Agreed: t.vouch, Unauthentic: t.unauthentic,
		Against: t.against + t.young + t.unauthentic, Failed: t.unreachable + t.silent,
	}
	missing := t.unreachable + t.silent // votes that could still have been vouches
	if p.UnreachableCountsAgainst {
		d.Against += t.unreachable
		missing = t.silent
	}
	rule := p.Threshold.Describe(p.K, asked)
	said := countsOfTally(t).words() // CountWords's words (countwords.go)
	switch {
	case asked > 0 && d.Agreed >= d.Needed:
		d.Outcome = OutcomeTrusted
		d.Reason = fmt.Sprintf("%s (the rule needs %s)", said, rule)
		return d
	case asked == 0:
		d.Undecided = true
		d.Reason = "undecided: no notary was asked"
	case d.Needed > asked:
		d.Undecided = true
		d.Reason = fmt.Sprintf("undecided: the rule needs %s, but only %d notaries are asked", rule, asked)
	case d.Agreed+missing >= d.Needed:
		d.Undecided = true
		d.Reason = fmt.Sprintf("undecided: %s (the rule needs %s)", said, rule)
	default:
		d.Outcome = OutcomeRejected
		d.Reason = fmt.Sprintf("only %s (the rule needs %s)", said, rule)
		if t.young > 0 {
			d.Reason += fmt.Sprintf("; an agreement counts once the notary has seen the certificate for at least %s, and the ones too recent had seen it for less than that", p.MinAgreeAge)
		}
	}
	if t.unauthentic > 0 {
		d.Reason += "; someone may be impersonating the notaries whose answers failed authentication on this network"
	}
	// The no-answer setting lets through a site too few notaries could speak about, not
	// one that a notary spoke against: a disagreement or an impostor's answer is
	// evidence of an attack, and the site stays blocked.
	if d.Undecided && p.NoAnswer == settings.NoAnswerAllowWarn && d.Against == 0 {
		d.Outcome = OutcomeTrusted
		d.Warning = "not verified: " + strings.TrimPrefix(d.Reason, "undecided: ")
		d.Reason += "; allowed by the no-answer setting"
		return d
	}
	d.Outcome = OutcomeRejected
	return d
}

// Settled reports whether the decision can no longer change whatever the pending
// notaries answer, and returns it. answers are the answers heard so far and pending
// the notaries asked that have not answered yet: the rule counts them all. It
// enumerates every way the pending answers can fall (vouch; disagreement, young
// agreement or unauthentic answer; unreachable; no opinion): the outcome and the
// presence of a warning must be the same for all of them. When settled, the returned
// decision counts the pending notaries as not waited for (no opinion), which is one
// of those completions. pending below 0 counts as 0.
func Settled(answers []NotaryAnswer, pending int, p Policy, now time.Time) (Decision, bool) {
	base := classify(answers, p, now)
	pending = max(pending, 0)
	at := func(v, a, f, s int) tally {
		t := base
		t.vouch += v
		t.against += a
		t.unreachable += f
		t.silent += s
		t.notNeeded += s // counted as not waited for
		return t
	}
	cur := decideTally(at(0, 0, 0, pending), p)
	// A young agreement counts exactly like a disagreement; an unauthentic answer does
	// too, except that it also rules out allow-warn: covered by a completion with one
	// unauthentic answer below.
	for v := 0; v <= pending; v++ {
		for a := 0; v+a <= pending; a++ {
			for f := 0; v+a+f <= pending; f++ {
				s := pending - v - a - f
				t := at(v, a, f, s)
				if d := decideTally(t, p); d.Outcome != cur.Outcome || (d.Warning == "") != (cur.Warning == "") {
					return cur, false
				}
				if a > 0 {
					t.against--
					t.unauthentic++
					if d := decideTally(t, p); d.Outcome != cur.Outcome || (d.Warning == "") != (cur.Warning == "") {
						return cur, false
					}
				}
			}
		}
	}
	return cur, true
}
