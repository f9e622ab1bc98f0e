package verifier

import (
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// TestReasonCode is the reason code as a table: an outage is never an attack, and only
// a disagreement or an impostor's answer says one. Decide computes it, so every rule
// and every path that takes a verdict from Decide (the fan-out, Settled) carries it.
func TestReasonCode(t *testing.T) {
	aged := pol(settings.ThresholdMajority, 0, 24*time.Hour, false, "")
	cases := []struct {
		name   string
		spec   string
		policy Policy
		want   ReasonCode
	}{
		{"all agree", "AAA", majority, ReasonNone},
		{"every notary stopped", "UUU", majority, ReasonUnreachable},
		{"every notary stopped, unreachable counts against", "UUU", pol(settings.ThresholdMajority, 0, 0, true, ""), ReasonUnreachable},
		{"every answer broken", "III", majority, ReasonUnreachable},
		{"one of three reached, all needed", "AUU", all, ReasonUnreachable},
		{"two of three, all needed, one down", "AAU", all, ReasonUnreachable},
		{"allowed by allow-warn, still says why", "UUU", pol(settings.ThresholdMajority, 0, 0, false, allow), ReasonUnreachable},
		{"a real attack: all disagree", "DDD", majority, ReasonDisagree},
		{"one disagrees, the site still trusted", "AAD", majority, ReasonDisagree},
		{"a disagreement beside an outage is an attack", "DUU", majority, ReasonDisagree},
		{"an impostor", "AFF", majority, ReasonImpersonated},
		{"an impostor outranks a disagreement", "DFU", majority, ReasonImpersonated},
		{"no opinion only", "NNN", majority, ReasonBelowThreshold},
		{"agreements too young", "YYY", aged, ReasonBelowThreshold},
		{"too young and one down", "YYU", aged, ReasonUnreachable},
		{"no notary asked", "", majority, ReasonBelowThreshold},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(ans(c.spec), c.policy, decideNow)
			if d.Code != c.want {
				t.Fatalf("Decide(%s) code %q, want %q (decision %+v)", c.spec, d.Code, c.want, d)
			}
			if d.Code.Attack() != (c.want == ReasonDisagree || c.want == ReasonImpersonated) {
				t.Fatalf("Attack() = %v for %q", d.Code.Attack(), d.Code)
			}
			// Settled with nothing pending is the same decision.
			if s, ok := Settled(ans(c.spec), 0, c.policy, decideNow); !ok || s.Code != d.Code {
				t.Fatalf("Settled: %q %v, want %q", s.Code, ok, d.Code)
			}
		})
	}
}

// TestReasonCodeOfTheTable checks every row of the consensus table: a decision with a
// warning or a rejection always has a code, a clean trusted one never, and only a
// disagreement or an impostor's answer is an attack.
func TestReasonCodeOfTheTable(t *testing.T) {
	for _, c := range decideCases {
		d := Decide(ans(c.spec), c.policy, decideNow)
		spoke := strings.ContainsAny(c.spec, "DF") // a disagreement or an impostor
		clean := d.Outcome == OutcomeTrusted && d.Warning == "" && !spoke
		if clean != (d.Code == ReasonNone) {
			t.Errorf("%s: code %q for %+v", c.name, d.Code, d)
		}
		if spoke != d.Code.Attack() {
			t.Errorf("%s: Attack() is %v with answers %s (%q)", c.name, d.Code.Attack(), c.spec, d.Code)
		}
	}
}
