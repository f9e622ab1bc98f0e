package verifier

import (
	"slices"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// FuzzDecide checks the consensus rule's invariants on arbitrary answer sets, seeded
// from the table tests.
func FuzzDecide(f *testing.F) {
	enc := func(p Policy) (byte, int, bool, bool, bool) {
		th := map[settings.Threshold]byte{settings.ThresholdAll: 0, settings.ThresholdMajority: 1, settings.ThresholdOne: 2, settings.ThresholdKOfN: 3}[p.Threshold]
		return th, p.K, p.MinAgreeAge > 0, p.UnreachableCountsAgainst, p.NoAnswer == settings.NoAnswerAllowWarn
	}
	for _, c := range decideCases {
		th, k, age, against, allow := enc(c.policy)
		f.Add(c.spec, 0, th, k, age, against, allow)
	}
	for _, c := range settledCases {
		th, k, age, against, allow := enc(c.policy)
		f.Add(c.spec, c.pending, th, k, age, against, allow)
	}
	f.Fuzz(func(t *testing.T, raw string, pending int, th byte, k int, age, against, allow bool) {
		spec := make([]byte, 0, 12)
		for i := 0; i < len(raw) && len(spec) < 12; i++ {
			spec = append(spec, "AYDUINXF"[int(raw[i])%8])
		}
		pending = ((pending % 4) + 4) % 4
		p := Policy{
			Threshold:                []settings.Threshold{settings.ThresholdAll, settings.ThresholdMajority, settings.ThresholdOne, settings.ThresholdKOfN}[th%4],
			K:                        k % 16,
			UnreachableCountsAgainst: against,
		}
		if age {
			p.MinAgreeAge = 24 * time.Hour
		}
		if allow {
			p.NoAnswer = settings.NoAnswerAllowWarn
		}
		answers := ans(string(spec))
		d := Decide(answers, p, decideNow)

		// Order does not matter.
		rev := slices.Clone(answers)
		slices.Reverse(rev)
		if r := Decide(rev, p, decideNow); r.Outcome != d.Outcome || r.Agreed != d.Agreed || r.Warning != d.Warning {
			t.Fatalf("order changed the decision for %q: %+v vs %+v", spec, d, r)
		}
		// The rule counts every notary asked: one more notary that did not answer
		// never turns a rejection or an undecided verdict into trust, and never
		// improves the vouches counted.
		more := append(slices.Clone(answers), ans("XU")...)
		if m := Decide(more, p, decideNow); d.Outcome != OutcomeTrusted && m.Outcome == OutcomeTrusted && m.Warning == "" {
			t.Fatalf("missing answers turned %q into trust under %+v", spec, p)
		}
		// A notary that spoke against (another certificate, an impostor's answer) never
		// leaves the certificate let through unverified.
		if slices.ContainsFunc(spec, func(c byte) bool { return c == 'F' || c == 'D' }) && d.Warning != "" {
			t.Fatalf("let through with a warning over an answer against for %q", spec)
		}
		// Trust needs the vouches out of those asked.
		if d.Outcome == OutcomeTrusted && d.Warning == "" && d.Agreed < needed(p, len(answers)) {
			t.Fatalf("trusted %q with %d vouches of %d asked, the rule needs %d", spec, d.Agreed, len(answers), needed(p, len(answers)))
		}
		// A trust without a warning needs at least one vouching notary, and never
		// exceeds the counted notaries.
		if d.Outcome == OutcomeTrusted && d.Warning == "" && d.Agreed < 1 {
			t.Fatalf("trusted with no voucher for %q under %+v", spec, p)
		}
		if d.Outcome == OutcomeRejected && d.Warning != "" {
			t.Fatalf("rejected with a warning for %q", spec)
		}
		// "all" never trusts over a disagreement.
		if p.Threshold == settings.ThresholdAll && d.Outcome == OutcomeTrusted && slices.Contains(spec, 'D') {
			t.Fatalf("all-threshold trusted over a disagreement for %q", spec)
		}
		// Turning a disagreement into a vouch never turns trust into rejection.
		if i := slices.Index(spec, 'D'); i >= 0 && d.Outcome == OutcomeTrusted {
			better := slices.Clone(spec)
			better[i] = 'A'
			if b := Decide(ans(string(better)), p, decideNow); b.Outcome != OutcomeTrusted {
				t.Fatalf("more agreement rejected: %q trusted, %q rejected", spec, better)
			}
		}
		// A settled early decision is the decision of every completion.
		checkSettledAgainstCompletions(t, answers, pending, p)
	})
}
