// Package verifier decides whether a site's certificate is trusted: it checks user
// pins, exempt destinations, the verdict cache, then asks the user's notaries.
package verifier

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Target is the site a certificate was presented for.
type Target struct {
	Host string // DNS name or literal IP, without brackets
	Port int
	// Addr is the address the connection went to, when the caller knows it (zero
	// otherwise); it lets the loopback and private-address exemptions apply to names.
	Addr netip.Addr
}

// String returns host:port, with brackets around IPv6 literals.
func (t Target) String() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Outcome is the final decision about a certificate.
type Outcome int

const (
	// OutcomeRejected means the certificate must not be trusted.
	OutcomeRejected Outcome = iota
	// OutcomeTrusted means the certificate may be used.
	OutcomeTrusted
)

// String names the outcome in plain words.
func (o Outcome) String() string {
	if o == OutcomeTrusted {
		return "trusted"
	}
	return "rejected"
}

// Source says which step of the check order produced a verdict.
type Source string

// The steps of the check order, in the order they are tried.
const (
	SourcePin      Source = "pin"      // the user trusts this certificate for this site
	SourceExempt   Source = "exempt"   // loopback or (by setting) a private address
	SourceCache    Source = "cache"    // an earlier verdict that has not expired
	SourceNotaries Source = "notaries" // asked the notaries now
	// SourceCleartext marks the proxy's own verdict on a tunnel that is not TLS: refused,
	// or let through unchecked because the user allows cleartext to that host:port.
	SourceCleartext Source = "cleartext"
	// SourceProxy marks a rejection the proxy made itself, when no check could be made
	// (the verifier failed) or the connection was refused before one (a TLS name that
	// claims this machine on a connection that goes elsewhere).
	SourceProxy Source = "proxy"
)

// AnswerKind classifies one notary's answer.
type AnswerKind string

// The kinds of answer a notary can give.
const (
	AnswerAgree       AnswerKind = "agree"       // the notary sees the same certificate
	AnswerDisagree    AnswerKind = "disagree"    // the notary sees a different certificate
	AnswerUnreachable AnswerKind = "unreachable" // no answer in time, or a network error
	AnswerInvalid     AnswerKind = "invalid"     // an authentic answer that is unusable (garbage, too large, clock off)
	AnswerNoOpinion   AnswerKind = "no-opinion"  // the notary could not reach the site, or cannot decide
	AnswerNotAsked    AnswerKind = "not-asked"   // the verdict was settled before this notary answered
	// AnswerUnauthentic is an answer that failed authentication: the notary's host
	// presented another certificate than its pinned one, or the signature, nonce,
	// target or fingerprint is wrong. It is evidence that someone on this network
	// impersonates the notary: it counts against, and raises EventNotaryImpersonated.
	AnswerUnauthentic AnswerKind = "unauthentic"
)

// Sighting is one key a notary reports having seen for the target, with when.
type Sighting struct {
	FingerprintSHA256 string // lowercase hex; empty when only SHA-1 is known (protocol v1)
	FingerprintSHA1   string // uppercase colon hex, as in protocol v1; may be empty
	FirstSeen         time.Time
	LastSeen          time.Time
}

// NotaryAnswer is what one notary said about the target.
type NotaryAnswer struct {
	Notary   string        // the logical notary's name
	Host     string        // the physical host that answered, host:port
	Kind     AnswerKind    // how the answer counts
	Seen     []Sighting    // what the notary saw for the target, newest first
	Latency  time.Duration // time to the answer
	Err      string        // why the answer failed, for unreachable and invalid answers
	Protocol int           // 1 or 2: the protocol version the answer came in
	// AgreedSince is, for an agreement, when the notary first saw the presented
	// certificate (from its sighting); zero when unknown. The consensus rule's minimum
	// agreement age reads it.
	AgreedSince time.Time
}

// Verdict is the decision about one certificate for one target, with the evidence.
type Verdict struct {
	Target            Target
	FingerprintSHA256 string // lowercase hex of the SHA-256 of the leaf certificate's DER
	Outcome           Outcome
	Source            Source
	Reason            string // one line in plain words: why
	// Code is the machine-readable reason, computed once where the verdict is made
	// (Decision.Code for the notaries' verdicts); every surface words the verdict from
	// it. ReasonNone for a verdict with nothing wrong.
	Code    ReasonCode
	Warning string         // set when the verdict was allowed despite a problem
	Answers []NotaryAnswer // empty unless Source is SourceNotaries or SourceCache
	Agreed  int            // notaries that vouched for the certificate
	Asked   int            // notaries asked
	// Undecided is set when the rule was not met because too few notaries could be
	// reached (the no-answer setting decided), not because the answers ruled it out.
	Undecided bool
	Time      time.Time
}

// Allowed reports whether the certificate may be used.
func (v Verdict) Allowed() bool { return v.Outcome == OutcomeTrusted }

// Reached counts the notaries that gave an answer, of any kind but unreachable,
// broken or not waited for.
func (v Verdict) Reached() int {
	n := 0
	for _, a := range v.Answers {
		switch a.Kind {
		case AnswerUnreachable, AnswerInvalid, AnswerNotAsked:
		default:
			n++
		}
	}
	return n
}

// Disagreement reports whether the notaries' answers were split (some agreed, some
// saw another certificate), whatever the outcome.
func (v Verdict) Disagreement() bool {
	var agree, disagree bool
	for _, a := range v.Answers {
		agree = agree || a.Kind == AnswerAgree
		disagree = disagree || a.Kind == AnswerDisagree
	}
	return disagree && (agree || v.Outcome == OutcomeRejected)
}

// FingerprintSHA256 returns the lowercase hex SHA-256 of a certificate's DER.
func FingerprintSHA256(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// EventKind names what the verifier reports to its listeners.
type EventKind string

// The events a verifier reports.
const (
	EventVerified          EventKind = "verified"
	EventRejected          EventKind = "rejected"
	EventDisagree          EventKind = "notaries-disagree"
	EventNotaryUnreachable EventKind = "notary-unreachable"
	// EventNotaryImpersonated reports an answer that failed authentication (Notary
	// names whom): someone on this network is impersonating that notary.
	EventNotaryImpersonated EventKind = "notary-impersonated"
)

// Event is one report from the verifier to the UI, the proxy's log and the history.
type Event struct {
	Kind    EventKind
	Verdict Verdict
	Notary  string // for EventNotaryUnreachable and EventNotaryImpersonated: which notary
	Time    time.Time
}
