package verifier

import (
	"testing"
	"time"
)

var decideNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ans builds answers from a compact spec: one letter per notary.
// A agree (seen for 30 days), Y agree (seen 1 hour ago), D disagree, U unreachable,
// I invalid, N no opinion, X not asked.
func ans(spec string) []NotaryAnswer {
	out := make([]NotaryAnswer, 0, len(spec))
	for i, c := range spec {
		a := NotaryAnswer{Notary: string(rune('a' + i))}
		switch c {
		case 'A':
			a.Kind, a.AgreedSince = AnswerAgree, decideNow.Add(-30*24*time.Hour)
		case 'Y':
			a.Kind, a.AgreedSince = AnswerAgree, decideNow.Add(-time.Hour)
		case 'D':
			a.Kind = AnswerDisagree
		case 'U':
			a.Kind = AnswerUnreachable
		case 'I':
			a.Kind = AnswerInvalid
		case 'N':
			a.Kind = AnswerNoOpinion
		case 'X':
			a.Kind = AnswerNotAsked
		default:
			panic("bad spec letter " + string(c))
		}
		out = append(out, a)
	}
	return out
}

type decideCase struct {
	name    string
	spec    string
	policy  Policy
	trusted bool
	warning bool
	agreed  int
}

func pol(th ThresholdKind, k int, age time.Duration, against bool, na NoAnswerPolicy) Policy {
	return Policy{Threshold: th, K: k, MinAgreeAge: age, UnreachableCountsAgainst: against, NoAnswer: na}
}

var decideCases = []decideCase{
	// all
	{"all agree", "AAA", pol(ThresholdAll, 0, 0, false, ""), true, false, 3},
	{"all one disagrees", "AAD", pol(ThresholdAll, 0, 0, false, ""), false, false, 2},
	{"all unreachable abstains", "AAU", pol(ThresholdAll, 0, 0, false, ""), true, false, 2},
	{"all unreachable counts against", "AAU", pol(ThresholdAll, 0, 0, true, ""), false, false, 2},
	{"all invalid counts against", "AAI", pol(ThresholdAll, 0, 0, true, ""), false, false, 2},
	{"all no-opinion abstains even when failures count", "AAN", pol(ThresholdAll, 0, 0, true, ""), true, false, 2},
	// majority: strictly more than half
	{"majority 2 of 3", "AAD", pol(ThresholdMajority, 0, 0, false, ""), true, false, 2},
	{"majority half is not enough", "AADD", pol(ThresholdMajority, 0, 0, false, ""), false, false, 2},
	{"majority 1 of 1 with abstentions", "AUU", pol(ThresholdMajority, 0, 0, false, ""), true, false, 1},
	{"majority 1 of 3 when failures count", "AUU", pol(ThresholdMajority, 0, 0, true, ""), false, false, 1},
	{"majority 1 of 2 is not enough", "AD", pol(ThresholdMajority, 0, 0, false, ""), false, false, 1},
	{"majority not-asked ignored", "AXX", pol(ThresholdMajority, 0, 0, false, ""), true, false, 1},
	{"unknown threshold is majority", "AD", pol("weird", 0, 0, false, ""), false, false, 1},
	// one
	{"one of three", "ADD", pol(ThresholdOne, 0, 0, false, ""), true, false, 1},
	{"one none agree", "DDD", pol(ThresholdOne, 0, 0, false, ""), false, false, 0},
	// k of n
	{"2 of n met", "AADDD", pol(ThresholdKOfN, 2, 0, false, ""), true, false, 2},
	{"3 of n not met", "AADDD", pol(ThresholdKOfN, 3, 0, false, ""), false, false, 2},
	{"k below 1 counts as 1", "ADD", pol(ThresholdKOfN, 0, 0, false, ""), true, false, 1},
	{"k larger than n", "AA", pol(ThresholdKOfN, 3, 0, false, ""), false, false, 2},
	// minimum agreement age
	{"age met", "AAY", pol(ThresholdMajority, 0, 24*time.Hour, false, ""), true, false, 2},
	{"age young counts against", "AYY", pol(ThresholdMajority, 0, 24*time.Hour, false, ""), false, false, 1},
	{"age all young", "YYY", pol(ThresholdOne, 0, 24*time.Hour, false, ""), false, false, 0},
	{"age zero means no rule", "YYY", pol(ThresholdAll, 0, 0, false, ""), true, false, 3},
	// no answer at all
	{"nothing answered blocks", "UUI", pol(ThresholdMajority, 0, 0, false, ""), false, false, 0},
	{"nothing answered blocks explicitly", "UUU", pol(ThresholdMajority, 0, 0, false, NoAnswerBlock), false, false, 0},
	{"nothing answered allow-warn", "UUU", pol(ThresholdMajority, 0, 0, false, NoAnswerAllowWarn), true, true, 0},
	{"no notaries allow-warn", "", pol(ThresholdAll, 0, 0, false, NoAnswerAllowWarn), true, true, 0},
	{"no notaries block", "", pol(ThresholdAll, 0, 0, false, ""), false, false, 0},
	{"only no-opinion allow-warn", "NN", pol(ThresholdAll, 0, 0, true, NoAnswerAllowWarn), true, true, 0},
	{"failures counted but nothing answered allow-warn", "UU", pol(ThresholdAll, 0, 0, true, NoAnswerAllowWarn), true, true, 0},
	{"a disagreement is an answer", "UUD", pol(ThresholdMajority, 0, 0, false, NoAnswerAllowWarn), false, false, 0},
	{"a young agreement is an answer", "UY", pol(ThresholdMajority, 0, time.Hour*24, false, NoAnswerAllowWarn), false, false, 0},
}

func TestDecide(t *testing.T) {
	for _, c := range decideCases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(ans(c.spec), c.policy, decideNow)
			if got := d.Outcome == OutcomeTrusted; got != c.trusted {
				t.Errorf("Decide(%q) trusted = %v, want %v (reason %q)", c.spec, got, c.trusted, d.Reason)
			}
			if got := d.Warning != ""; got != c.warning {
				t.Errorf("Decide(%q) warning = %q, want present=%v", c.spec, d.Warning, c.warning)
			}
			if d.Agreed != c.agreed {
				t.Errorf("Decide(%q) agreed = %d, want %d", c.spec, d.Agreed, c.agreed)
			}
			if d.Reason == "" {
				t.Errorf("Decide(%q) gave no reason", c.spec)
			}
		})
	}
}

type settledCase struct {
	name    string
	spec    string
	pending int
	policy  Policy
	settled bool
	trusted bool
}

var settledCases = []settledCase{
	{"majority 2 of 3 settled", "AA", 1, pol(ThresholdMajority, 0, 0, false, ""), true, true},
	{"majority 1 of 3 open", "A", 2, pol(ThresholdMajority, 0, 0, false, ""), false, false},
	{"majority 2 against of 3 settled", "DD", 1, pol(ThresholdMajority, 0, 0, false, ""), true, false},
	{"all one disagreement settles", "D", 4, pol(ThresholdAll, 0, 0, false, ""), true, false},
	{"all agreement open", "AAAA", 1, pol(ThresholdAll, 0, 0, false, ""), false, true},
	{"one agreement settles", "A", 9, pol(ThresholdOne, 0, 0, false, ""), true, true},
	{"k of n reached settles", "DAA", 3, pol(ThresholdKOfN, 2, 0, false, ""), true, true},
	{"k of n unreachable settles", "DDD", 1, pol(ThresholdKOfN, 2, 0, false, ""), true, false},
	{"nothing yet open", "", 3, pol(ThresholdMajority, 0, 0, false, ""), false, false},
	{"failures so far open under allow-warn", "UU", 1, pol(ThresholdMajority, 0, 0, false, NoAnswerAllowWarn), false, true},
	{"no pending always settled", "AD", 0, pol(ThresholdMajority, 0, 0, false, ""), true, false},
	{"majority with abstention open", "AAU", 2, pol(ThresholdMajority, 0, 0, false, ""), false, true},
	{"majority failures counted open", "AAUU", 1, pol(ThresholdMajority, 0, 0, true, ""), false, false},
}

func TestSettled(t *testing.T) {
	for _, c := range settledCases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := Settled(ans(c.spec), c.pending, c.policy, decideNow)
			if ok != c.settled {
				t.Fatalf("Settled(%q, %d) = %v, want %v", c.spec, c.pending, ok, c.settled)
			}
			if ok && (d.Outcome == OutcomeTrusted) != c.trusted {
				t.Errorf("Settled(%q, %d) trusted = %v, want %v", c.spec, c.pending, d.Outcome == OutcomeTrusted, c.trusted)
			}
			checkSettledAgainstCompletions(t, ans(c.spec), c.pending, c.policy)
		})
	}
}

// completionLetters are the answer classes a pending notary can end up in.
const completionLetters = "AYDUIN"

// checkSettledAgainstCompletions enumerates every completion of the pending answers
// and checks that a settled decision is the final decision for each of them, and that
// an open one really differs for at least one of them.
func checkSettledAgainstCompletions(t *testing.T, answers []NotaryAnswer, pending int, p Policy) {
	t.Helper()
	d, ok := Settled(answers, pending, p, decideNow)
	if pending > 4 {
		pending = 4 // 6^4 completions at most; bigger cases are covered by the counting argument
		if !ok {
			return
		}
	}
	differs := false
	total := 1
	for range pending {
		total *= len(completionLetters)
	}
	for n := range total {
		spec := make([]byte, pending)
		x := n
		for i := range spec {
			spec[i] = completionLetters[x%len(completionLetters)]
			x /= len(completionLetters)
		}
		all := append(append([]NotaryAnswer{}, answers...), ans(string(spec))...)
		final := Decide(all, p, decideNow)
		same := final.Outcome == d.Outcome && (final.Warning == "") == (d.Warning == "")
		if ok && !same {
			t.Fatalf("Settled said %v but completion %q gives %v (%s)", d.Outcome, spec, final.Outcome, final.Reason)
		}
		differs = differs || !same
	}
	if !ok && !differs {
		t.Fatalf("Settled said open but every completion gives %v", d.Outcome)
	}
}
