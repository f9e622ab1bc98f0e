package localproxy

import (
	"fmt"

	"github.com/convergence-ng/convergence/verifier"
)

// The words of the block page, one set per reason code: the page, the plain-text
// answer and the headers all take the code from the verdict (verifier.Verdict.Code)
// and word it here. Only a disagreement or an impersonated notary speaks of someone
// intercepting; an outage says it is an outage.

// blockWords returns the headline and the explanation for code on a verdict v.
func blockWords(code verifier.ReasonCode, v verifier.Verdict) (headline, explain string) {
	switch code {
	case verifier.ReasonUnreachable:
		return "Convergence can't reach your notaries, so this site is blocked",
			fmt.Sprintf("Your notaries could not be reached (%s), so nobody could confirm this site's certificate. "+
				"This is usually a network problem, not an attack: the network may be down, or want you to sign in first.", verifier.CountWords(v))
	case verifier.ReasonDisagree:
		return "Someone may be intercepting your connection to this site",
			fmt.Sprintf("Your notaries see a different certificate for this site than the one your connection was given (%s). "+
				"Someone between you and the site may be presenting a false certificate.", verifier.CountWords(v))
	case verifier.ReasonImpersonated:
		return "Someone may be intercepting: a notary is being impersonated",
			fmt.Sprintf("An answer in the name of one of your notaries failed authentication (%s): someone on this network is pretending to be that notary, "+
				"and may be intercepting your connections.", verifier.CountWords(v))
	case verifier.ReasonBelowThreshold:
		return "Too few notaries vouched for this site",
			fmt.Sprintf("The notaries that answered did not speak against this site, but too few vouched for its certificate to meet your rule (%s). "+
				"A site with a very new certificate, or one the notaries cannot see, ends here.", verifier.CountWords(v))
	case verifier.ReasonRefusedTunnel:
		return "Convergence refused this connection",
			"This connection was refused before any check: it is not something Convergence lets through (see Details)."
	case verifier.ReasonClientCert:
		return "This site asks for a client certificate",
			"This site asks your browser for a client certificate (a smart card or company certificate). " +
				"Convergence cannot check such a site while reading the connection. " +
				"It can check it without interception: Convergence then checks the site's certificate with the notaries itself, and passes your browser's own connection through untouched."
	case verifier.ReasonSiteUnreachable:
		return "Convergence could not reach this site",
			"The site did not answer, so there was no certificate to check. It may be down, or the network may be."
	}
	return "Convergence could not check this site's certificate, so the connection was stopped",
		"The check itself failed (see Details). Try again; if it keeps failing, restart Convergence."
}

// answerWords says one notary's answer in plain words.
func answerWords(k verifier.AnswerKind) string {
	switch k {
	case verifier.AnswerAgree:
		return "saw the same certificate"
	case verifier.AnswerDisagree:
		return "saw a different certificate"
	case verifier.AnswerUnreachable:
		return "could not be reached"
	case verifier.AnswerInvalid:
		return "answered, but the answer could not be used"
	case verifier.AnswerNoOpinion:
		return "has no opinion on this site"
	case verifier.AnswerNotAsked:
		return "not waited for"
	case verifier.AnswerUnauthentic:
		return "an answer in its name failed authentication"
	}
	return string(k)
}

// allowable reports whether the block page for code offers "allow this site for 10
// minutes": for an outage or too few vouches, never for evidence of an attack or a
// refusal.
func allowable(code verifier.ReasonCode) bool {
	return code == verifier.ReasonUnreachable || code == verifier.ReasonBelowThreshold
}
