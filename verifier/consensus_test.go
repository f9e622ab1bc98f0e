package verifier

import (
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

var decideNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ans builds answers from a compact spec: one letter per notary.
// A agree (seen for 30 days), Y agree (seen 1 hour ago), D disagree, U unreachable,
// I invalid, F failed authentication (unauthentic), N no opinion, X not waited for.
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
		case 'F':
			a.Kind = AnswerUnauthentic
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
	name      string
	spec      string
	policy    Policy
	trusted   bool
	warning   bool
	agreed    int
	undecided bool
}

func pol(th settings.Threshold, k int, age time.Duration, against bool, na settings.NoAnswerPolicy) Policy {
	return Policy{Threshold: th, K: k, MinAgreeAge: age, UnreachableCountsAgainst: against, NoAnswer: na}
}

var (
	all      = pol(settings.ThresholdAll, 0, 0, false, "")
	majority = pol(settings.ThresholdMajority, 0, 0, false, "")
	allow    = settings.NoAnswerAllowWarn
)

// decideCases is the consensus rule as a table, over every rule. Every rule counts
// against the notaries asked: an answer that is missing (unreachable, broken, no
// opinion, not waited for) is a vote the rule lacks, never one it does not need.
// These rows are the README's table ("How the notaries' answers are counted").
var decideCases = []decideCase{
	// all: every notary asked vouches
	{"all agree", "AAA", all, true, false, 3, false},
	{"all one disagrees", "AAD", all, false, false, 2, false},
	{"all one unreachable: undecided", "AAU", all, false, false, 2, true},
	{"all one unreachable allow-warn", "AAU", pol(settings.ThresholdAll, 0, 0, false, allow), true, true, 2, true},
	{"all unreachable counts against", "AAU", pol(settings.ThresholdAll, 0, 0, true, ""), false, false, 2, false},
	{"all invalid counts against when failures do", "AAI", pol(settings.ThresholdAll, 0, 0, true, ""), false, false, 2, false},
	{"all no opinion is a missing vote", "AAN", pol(settings.ThresholdAll, 0, 0, true, ""), false, false, 2, true},
	{"all unauthentic rejects", "AAF", all, false, false, 2, false},
	{"all quorum of one: the others cut off", "AUU", all, false, false, 1, true},
	// majority: strictly more than half of those asked
	{"majority 2 of 3", "AAD", majority, true, false, 2, false},
	{"majority 2 of 3 with one unreachable", "AAU", majority, true, false, 2, false},
	{"majority half is not enough", "AADD", majority, false, false, 2, false},
	{"majority quorum of one: 1 of 3 is undecided", "AUU", majority, false, false, 1, true},
	{"majority quorum of one allow-warn", "AUU", pol(settings.ThresholdMajority, 0, 0, false, allow), true, true, 1, true},
	{"majority 1 of 3 when failures count", "AUU", pol(settings.ThresholdMajority, 0, 0, true, ""), false, false, 1, false},
	{"majority two impostors reject", "AFF", majority, false, false, 1, false},
	{"majority impostors reject even under allow-warn", "AFF", pol(settings.ThresholdMajority, 0, 0, false, allow), false, false, 1, false},
	{"majority impostor and unreachable: undecided, never allowed", "AFU", pol(settings.ThresholdMajority, 0, 0, false, allow), false, false, 1, true},
	{"majority 1 of 2 is not enough", "AD", majority, false, false, 1, false},
	{"majority not waited for is a missing vote", "AXX", majority, false, false, 1, true},
	{"majority busy notaries are missing votes", "AAUUU", majority, false, false, 2, true},
	{"unknown threshold is majority", "AD", pol("weird", 0, 0, false, ""), false, false, 1, false},
	// one
	{"one of three", "ADD", pol(settings.ThresholdOne, 0, 0, false, ""), true, false, 1, false},
	{"one none agree", "DDD", pol(settings.ThresholdOne, 0, 0, false, ""), false, false, 0, false},
	{"one none reached", "UUN", pol(settings.ThresholdOne, 0, 0, false, ""), false, false, 0, true},
	// k of n
	{"2 of n met", "AADDD", pol(settings.ThresholdKOfN, 2, 0, false, ""), true, false, 2, false},
	{"3 of n not met", "AADDD", pol(settings.ThresholdKOfN, 3, 0, false, ""), false, false, 2, false},
	{"3 of n short of answers", "AAUDD", pol(settings.ThresholdKOfN, 3, 0, false, ""), false, false, 2, true},
	{"k below 1 counts as 1", "ADD", pol(settings.ThresholdKOfN, 0, 0, false, ""), true, false, 1, false},
	{"k larger than n", "AA", pol(settings.ThresholdKOfN, 3, 0, false, ""), false, false, 2, true},
	// minimum agreement age
	{"age met", "AAY", pol(settings.ThresholdMajority, 0, 24*time.Hour, false, ""), true, false, 2, false},
	{"age young counts against", "AYY", pol(settings.ThresholdMajority, 0, 24*time.Hour, false, ""), false, false, 1, false},
	{"age all young", "YYY", pol(settings.ThresholdOne, 0, 24*time.Hour, false, ""), false, false, 0, false},
	{"age zero means no rule", "YYY", all, true, false, 3, false},
	// no answer at all
	{"nothing answered blocks", "UUI", majority, false, false, 0, true},
	{"nothing answered blocks explicitly", "UUU", pol(settings.ThresholdMajority, 0, 0, false, settings.NoAnswerBlock), false, false, 0, true},
	{"nothing answered allow-warn", "UUU", pol(settings.ThresholdMajority, 0, 0, false, allow), true, true, 0, true},
	{"no notaries allow-warn", "", pol(settings.ThresholdAll, 0, 0, false, allow), true, true, 0, true},
	{"no notaries block", "", all, false, false, 0, true},
	{"only no-opinion allow-warn", "NN", pol(settings.ThresholdAll, 0, 0, true, allow), true, true, 0, true},
	{"failures counted and nothing answered: rejected", "UU", pol(settings.ThresholdAll, 0, 0, true, allow), false, false, 0, false},
	{"disagreements rule it out", "UDD", pol(settings.ThresholdMajority, 0, 0, false, allow), false, false, 0, false},
	{"a disagreement with missing votes is undecided, never allowed", "UUD", pol(settings.ThresholdMajority, 0, 0, false, allow), false, false, 0, true},
	{"an agreement and a disagreement with a missing vote: never allowed", "ADU", pol(settings.ThresholdMajority, 0, 0, false, allow), false, false, 1, true},
	{"a young agreement with missing votes: never allowed", "YUU", pol(settings.ThresholdMajority, 0, 24*time.Hour, false, allow), false, false, 0, true},
	{"a young agreement counts against", "UY", pol(settings.ThresholdMajority, 0, time.Hour*24, false, allow), false, false, 0, false},
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
			if d.Undecided != c.undecided {
				t.Errorf("Decide(%q) undecided = %v, want %v (reason %q)", c.spec, d.Undecided, c.undecided, d.Reason)
			}
			if d.Asked != len(c.spec) {
				t.Errorf("Decide(%q) asked = %d, want every notary asked: %d", c.spec, d.Asked, len(c.spec))
			}
			if d.Unauthentic > 0 && !strings.Contains(d.Reason, "impersonating") {
				t.Errorf("Decide(%q) reason %q does not say a notary may be impersonated", c.spec, d.Reason)
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
	{"majority 2 of 3 settled", "AA", 1, majority, true, true},
	{"majority 1 of 3 open", "A", 2, majority, false, false},
	{"majority 2 against of 3 settled", "DD", 1, majority, true, false},
	{"all one disagreement settles", "D", 4, all, true, false},
	{"all agreement open", "AAAA", 1, all, false, true},
	{"one agreement settles", "A", 9, pol(settings.ThresholdOne, 0, 0, false, ""), true, true},
	{"k of n reached settles", "DAA", 3, pol(settings.ThresholdKOfN, 2, 0, false, ""), true, true},
	{"k of n out of reach settles", "DDD", 1, pol(settings.ThresholdKOfN, 2, 0, false, ""), true, false},
	{"nothing yet open", "", 3, majority, false, false},
	{"failures so far open under allow-warn", "UU", 1, pol(settings.ThresholdMajority, 0, 0, false, allow), false, true},
	{"no pending always settled", "AD", 0, majority, true, false},
	{"majority with abstention open", "AAU", 2, majority, false, true},
	{"majority two unreachable of three settles blocked", "UU", 1, majority, true, false},
	{"majority failures counted open", "AAUU", 1, pol(settings.ThresholdMajority, 0, 0, true, ""), false, false},
	{"allow-warn waits: an impostor would block", "AU", 1, pol(settings.ThresholdMajority, 0, 0, false, allow), false, true},
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
const completionLetters = "AYDUINF"

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
