// Package countcases is test support: one table of verdicts, made by the consensus
// rule itself (verifier.Decide), that every surface's test words and checks against
// verifier.CountWords, so that no surface can count differently (issue 15).
package countcases

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// Case is one verdict of the table and the counting words it must be told in.
type Case struct {
	Name    string
	Verdict verifier.Verdict
	Words   string // what verifier.CountWords says of Verdict, written out by hand
}

// at is the clock of every case: the verdicts are decided and dated at it.
var at = time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)

// Fingerprint is the presented certificate's SHA-256 in every case; Other is the one a
// disagreeing notary saw.
const (
	Fingerprint = "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11"
	Other       = "bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22"
)

func agree(name, host string, since time.Time) verifier.NotaryAnswer {
	return verifier.NotaryAnswer{Notary: name, Host: host, Kind: verifier.AnswerAgree, Protocol: 2, Latency: 12 * time.Millisecond,
		AgreedSince: since, Seen: []verifier.Sighting{{FingerprintSHA256: Fingerprint, FirstSeen: since, LastSeen: at}}}
}

func disagree(name, host string) verifier.NotaryAnswer {
	return verifier.NotaryAnswer{Notary: name, Host: host, Kind: verifier.AnswerDisagree, Protocol: 2, Latency: 15 * time.Millisecond,
		Seen: []verifier.Sighting{{FingerprintSHA256: Other, FirstSeen: at.AddDate(0, -1, 0), LastSeen: at}}}
}

func failed(name, host string, kind verifier.AnswerKind, err string) verifier.NotaryAnswer {
	return verifier.NotaryAnswer{Notary: name, Host: host, Kind: kind, Err: err}
}

// decided builds the verdict a check of host by the notaries makes from answers under
// p, as verifier's fan-out does (Decide's outcome, reason, warning and code, its
// counts, every answer kept).
func decided(host string, answers []verifier.NotaryAnswer, p verifier.Policy) verifier.Verdict {
	d := verifier.Decide(answers, p, at)
	return verifier.Verdict{
		Target: verifier.Target{Host: host, Port: 443}, FingerprintSHA256: Fingerprint,
		Outcome: d.Outcome, Source: verifier.SourceNotaries, Reason: d.Reason, Code: d.Code, Warning: d.Warning,
		Answers: answers, Agreed: d.Agreed, Asked: d.Asked, Undecided: d.Undecided, Time: at,
	}
}

// Cases returns the table, new on every call: trusted with one notary not needed,
// rejected by a disagreement, all notaries unreachable, let through unverified with two
// unreachable, below the threshold (agreements too young), impersonated notaries, and
// a verdict reused from the cache. One notary in each has no address (no "()").
func Cases() []Case {
	old := at.AddDate(0, 0, -30)
	majority := verifier.Policy{Threshold: settings.ThresholdMajority}
	young := verifier.Policy{Threshold: settings.ThresholdMajority, MinAgreeAge: 24 * time.Hour}
	warn := verifier.Policy{Threshold: settings.ThresholdMajority, NoAnswer: settings.NoAnswerAllowWarn}

	// A cache hit: the verifier recounts the vouchers among the notaries asked now,
	// the others being votes not waited for (verifier's recount), and keeps the
	// answers of then; the verdict says "checked before: " and the recount's reason.
	cached := decided("cached.example", []verifier.NotaryAnswer{
		agree("Alpha", "alpha.example:443", old), agree("Beta", "beta.example:443", old),
		failed("Gamma", "", verifier.AnswerNotAsked, "not waited for: the verdict was settled first")}, majority)
	cached.Source, cached.Reason = verifier.SourceCache, "checked before: "+cached.Reason

	return []Case{
		{"trusted, one not needed", decided("shop.example", []verifier.NotaryAnswer{
			agree("Alpha", "alpha.example:443", old), agree("Beta", "beta.example:443", old),
			failed("Gamma", "", verifier.AnswerNotAsked, "not waited for: the verdict was settled first")}, majority),
			"2 of 3 agreed, 1 not needed"},
		{"rejected by disagreement", decided("evil.example", []verifier.NotaryAnswer{
			agree("Alpha", "alpha.example:443", old), disagree("Beta", "beta.example:443"), disagree("Gamma", "")}, majority),
			"1 of 3 agreed, 2 saw another certificate"},
		{"unreachable", decided("offline.example", []verifier.NotaryAnswer{
			failed("Alpha", "alpha.example:443", verifier.AnswerUnreachable, "connection refused"),
			failed("Beta", "beta.example:443", verifier.AnswerUnreachable, "timeout"),
			failed("Gamma", "", verifier.AnswerInvalid, "answer too large")}, majority),
			"0 of 3 answered"},
		{"let through unverified", decided("spotty.example", []verifier.NotaryAnswer{
			agree("Alpha", "alpha.example:443", old),
			failed("Beta", "beta.example:443", verifier.AnswerUnreachable, "timeout"),
			failed("Gamma", "", verifier.AnswerUnreachable, "no route to host")}, warn),
			"1 of 3 agreed, 2 did not answer"},
		{"below threshold", decided("new.example", []verifier.NotaryAnswer{
			agree("Alpha", "alpha.example:443", old), agree("Beta", "beta.example:443", at.Add(-time.Hour)),
			agree("Gamma", "", at.Add(-time.Hour))}, young),
			"1 of 3 agreed, 2 agreed too recently to count"},
		{"impersonated", decided("bank.example", []verifier.NotaryAnswer{
			agree("Alpha", "alpha.example:443", old),
			failed("Beta", "beta.example:443", verifier.AnswerUnauthentic, "the notary's host presented another certificate"),
			failed("Gamma", "", verifier.AnswerUnauthentic, "bad signature")}, majority),
			"1 of 3 agreed, 2 failed authentication"},
		{"from cache", cached, "2 of 3 agreed, 1 not needed"},
	}
}

// Event returns the event a surface hears for c: EventVerified for an allowed verdict,
// EventRejected otherwise.
func (c Case) Event() verifier.Event {
	kind := verifier.EventRejected
	if c.Verdict.Allowed() {
		kind = verifier.EventVerified
	}
	return verifier.Event{Kind: kind, Verdict: c.Verdict, Time: at}
}

// ruleRE matches the rule a reason names ("the rule needs more than half: 2 of 3"): a
// count of the rule, not of the answers, so Says skips it.
var ruleRE = regexp.MustCompile(`the rule needs [^);]*`)

// countRE matches any "N of M": a count of the notaries in other words than c.Words.
var countRE = regexp.MustCompile(`\b\d+ of \d+\b`)

// Says returns an error unless text states c's counts in exactly c.Words and no other
// count of the notaries besides (a surface that also said "2 of 3 answered" beside
// "1 of 3 agreed" would count twice, in two ways).
func (c Case) Says(text string) error {
	if !strings.Contains(text, c.Words) {
		return fmt.Errorf("%s: %q does not say %q", c.Name, text, c.Words)
	}
	rest := ruleRE.ReplaceAllString(strings.ReplaceAll(text, c.Words, ""), "")
	if stray := countRE.FindAllString(rest, -1); len(stray) > 0 {
		return fmt.Errorf("%s: %q counts in other words too: %q", c.Name, text, stray)
	}
	return nil
}
