package verifier

// ReasonCode is the one machine-readable reason of a verdict: what the block page, the
// X-Convergence-Reason header, the notification, the tray and the Activity list all
// say, computed once where the verdict is made (Decide for the notaries' verdicts, the
// proxy for its own) so that no two surfaces can word one verdict differently. The
// empty code means nothing is wrong.
type ReasonCode string

// The reason codes. Their values are stable: scripts read them from the header.
const (
	// ReasonNone: trusted, and no notary spoke against it.
	ReasonNone ReasonCode = ""
	// ReasonDisagree: at least one notary saw another certificate for the site.
	// Someone may be intercepting the connection.
	ReasonDisagree ReasonCode = "notaries-disagree"
	// ReasonImpersonated: an answer in a notary's name failed authentication.
	// Someone on this network pretends to be that notary.
	ReasonImpersonated ReasonCode = "notary-impersonated"
	// ReasonUnreachable: the rule was not met because notaries could not be reached
	// (refused, timed out, DNS failure, no network, a broken answer), and none spoke
	// against the site. An outage, not evidence of an attack.
	ReasonUnreachable ReasonCode = "notaries-unreachable"
	// ReasonBelowThreshold: the notaries that answered did not speak against the site,
	// but too few vouched for it (agreements younger than the minimum age, notaries
	// with no opinion, fewer notaries than the rule needs).
	ReasonBelowThreshold ReasonCode = "below-threshold"
	// ReasonRefusedTunnel: the proxy refused the connection itself before any check:
	// a stream that is not TLS to a destination not allowed for cleartext, or a TLS
	// name that claims this machine on a connection that goes elsewhere.
	ReasonRefusedTunnel ReasonCode = "refused-tunnel"
	// ReasonSiteUnreachable: the site itself could not be reached, so there was no
	// certificate to check (the proxy's block page only; never a verdict's code).
	ReasonSiteUnreachable ReasonCode = "site-unreachable"
	// ReasonCheckFailed: the check itself failed (the verifier stopped, the store
	// failed); the proxy's own rejection.
	ReasonCheckFailed ReasonCode = "check-failed"
	// ReasonClientCert: the site asks for a client certificate, which an interception
	// cannot give (the proxy's block page only; the user may choose verify without
	// reading for the site).
	ReasonClientCert ReasonCode = "client-certificate"
)

// Attack reports whether the code is evidence that someone may be intercepting: a
// disagreement or an impersonated notary. No other code may say so.
func (c ReasonCode) Attack() bool { return c == ReasonDisagree || c == ReasonImpersonated }

// reasonCode is the code of a decision from its tally, a pure function: an answer that
// failed authentication outranks a disagreement (or too young an agreement counted as
// one only when a real disagreement is there), which outranks unreachable notaries;
// a trusted decision with nothing against it and no warning has no code.
func reasonCode(t tally, d Decision) ReasonCode {
	switch {
	case t.unauthentic > 0:
		return ReasonImpersonated
	case t.against > 0:
		return ReasonDisagree
	case d.Outcome == OutcomeTrusted && d.Warning == "":
		return ReasonNone
	case t.unreachable > 0:
		return ReasonUnreachable
	}
	return ReasonBelowThreshold
}
