package verifier

import (
	"fmt"
	"time"
)

// ThresholdKind names how many notaries must vouch for a certificate.
type ThresholdKind string

// The thresholds a user can pick. The values match the settings store's.
const (
	ThresholdAll      ThresholdKind = "all"      // every counted notary must vouch
	ThresholdMajority ThresholdKind = "majority" // strictly more than half of the counted notaries
	ThresholdOne      ThresholdKind = "one"      // at least one notary
	ThresholdKOfN     ThresholdKind = "k-of-n"   // at least Policy.K notaries
)

// NoAnswerPolicy says what to do when no notary gave a usable answer.
type NoAnswerPolicy string

// The choices for a certificate no notary could speak about.
const (
	NoAnswerBlock     NoAnswerPolicy = "block"      // reject (the default)
	NoAnswerAllowWarn NoAnswerPolicy = "allow-warn" // trust, with a warning in the verdict
)

// Policy is the consensus rule: the user's threshold settings.
type Policy struct {
	Threshold ThresholdKind
	// K is the number of vouching notaries needed with ThresholdKOfN; values below 1
	// count as 1.
	K int
	// MinAgreeAge, when positive, is how long a notary must have seen the certificate
	// (NotaryAnswer.AgreedSince) for its agreement to count as vouching. A younger
	// agreement counts against, like a disagreement (Perspectives' quorum duration).
	MinAgreeAge time.Duration
	// UnreachableCountsAgainst makes unreachable and invalid answers count as votes
	// against; by default they abstain.
	UnreachableCountsAgainst bool
	// NoAnswer decides when no notary agreed or disagreed (all failed, none asked, or
	// none could see the site). Empty means NoAnswerBlock.
	NoAnswer NoAnswerPolicy
}

// DefaultPolicy returns the defaults: majority, no minimum age, unreachable notaries
// abstain, block when no notary answers.
func DefaultPolicy() Policy {
	return Policy{Threshold: ThresholdMajority, K: 1, NoAnswer: NoAnswerBlock}
}

// Decision is the outcome of the consensus rule with the counts behind it.
type Decision struct {
	Outcome Outcome
	Reason  string // one line in plain words
	Warning string // set when trusted despite no notary answering
	Agreed  int    // notaries that vouched
	Against int    // notaries that counted against (disagree, too young, failed if counted)
	Failed  int    // notaries that were unreachable or answered invalidly
}

// tally holds the counts the rule depends on: every answer falls in one class.
type tally struct {
	vouch   int // agreed, old enough
	young   int // agreed, but not seen for MinAgreeAge
	against int // disagreed
	failed  int // unreachable or invalid
	// no-opinion and not-asked answers abstain and are not counted
}

// classify returns the tally of answers under p at time now.
func classify(answers []NotaryAnswer, p Policy, now time.Time) tally {
	var t tally
	for _, a := range answers {
		switch a.Kind {
		case AnswerAgree:
			if p.MinAgreeAge > 0 && (a.AgreedSince.IsZero() || now.Sub(a.AgreedSince) < p.MinAgreeAge) {
				t.young++
			} else {
				t.vouch++
			}
		case AnswerDisagree:
			t.against++
		case AnswerUnreachable, AnswerInvalid:
			t.failed++
		}
	}
	return t
}

// Decide applies the consensus rule p to the notaries' answers at time now. It is a
// pure function: no I/O, and now is the only clock it reads.
//
// Agreements count as vouching (if old enough), disagreements count against,
// unreachable and invalid answers abstain unless p.UnreachableCountsAgainst, and
// no-opinion and not-asked answers abstain. When no notary agreed or disagreed,
// p.NoAnswer decides.
func Decide(answers []NotaryAnswer, p Policy, now time.Time) Decision {
	return decideTally(classify(answers, p, now), p)
}

func decideTally(t tally, p Policy) Decision {
	d := Decision{Agreed: t.vouch, Against: t.against + t.young, Failed: t.failed}
	if p.UnreachableCountsAgainst {
		d.Against += t.failed
	}
	if t.vouch+t.young+t.against == 0 {
		if p.NoAnswer == NoAnswerAllowWarn {
			d.Outcome = OutcomeTrusted
			d.Reason = "no notary answered; allowed by the no-answer setting"
			d.Warning = fmt.Sprintf("not verified: no notary answered (%d failed)", t.failed)
			return d
		}
		d.Outcome = OutcomeRejected
		d.Reason = fmt.Sprintf("no notary answered (%d failed)", t.failed)
		return d
	}
	counted := d.Agreed + d.Against
	var ok bool
	var rule string
	switch p.Threshold {
	case ThresholdAll:
		ok, rule = d.Agreed == counted, "all"
	case ThresholdOne:
		ok, rule = d.Agreed >= 1, "at least one"
	case ThresholdKOfN:
		k := max(p.K, 1)
		ok, rule = d.Agreed >= k, fmt.Sprintf("at least %d", k)
	default: // ThresholdMajority, and anything unknown gets the default
		ok, rule = 2*d.Agreed > counted, "a majority"
	}
	if ok {
		d.Outcome = OutcomeTrusted
		d.Reason = fmt.Sprintf("%d of %d notaries vouched (needed %s)", d.Agreed, counted, rule)
	} else {
		d.Outcome = OutcomeRejected
		d.Reason = fmt.Sprintf("only %d of %d notaries vouched (needed %s)", d.Agreed, counted, rule)
		if t.young > 0 {
			d.Reason += fmt.Sprintf("; %d had seen it for less than %s", t.young, p.MinAgreeAge)
		}
	}
	return d
}

// Settled reports whether the decision can no longer change whatever the pending
// notaries answer, and returns it. It enumerates every way the pending answers can
// fall (vouch, disagreement or young agreement, failure, no opinion): the outcome and the
// presence of a warning must be the same for all of them. When settled, the returned
// decision is Decide over answers (the pending ones left out), which is one of those
// completions. pending below 0 counts as 0.
func Settled(answers []NotaryAnswer, pending int, p Policy, now time.Time) (Decision, bool) {
	base := classify(answers, p, now)
	cur := decideTally(base, p)
	if pending <= 0 {
		return cur, true
	}
	// A young agreement counts exactly like a disagreement, and a no-opinion answer
	// like none at all, so three counts cover every completion.
	for v := 0; v <= pending; v++ {
		for a := 0; v+a <= pending; a++ {
			for f := 0; v+a+f <= pending; f++ {
				t := tally{vouch: base.vouch + v, young: base.young, against: base.against + a, failed: base.failed + f}
				d := decideTally(t, p)
				if d.Outcome != cur.Outcome || (d.Warning == "") != (cur.Warning == "") {
					return cur, false
				}
			}
		}
	}
	return cur, true
}
