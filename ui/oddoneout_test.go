package ui

import (
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/verifier"
)

// TestNotificationNamesTheOddOneOut: when one notary alone sees another certificate
// and the others see the user's, the notification names it; any other split keeps the
// count alone.
func TestNotificationNamesTheOddOneOut(t *testing.T) {
	answers := func(kinds ...verifier.AnswerKind) []verifier.NotaryAnswer {
		names := []string{"Alpha Notary", "Beta Notary", "Nordic Notary", "Delta Notary"}
		out := make([]verifier.NotaryAnswer, len(kinds))
		for i, k := range kinds {
			out[i] = verifier.NotaryAnswer{Notary: names[i], Kind: k}
		}
		return out
	}
	agree, dis, down := verifier.AnswerAgree, verifier.AnswerDisagree, verifier.AnswerUnreachable
	ev := func(outcome verifier.Outcome, agreed int, as []verifier.NotaryAnswer) verifier.Event {
		kind := verifier.EventRejected
		if outcome == verifier.OutcomeTrusted {
			kind = verifier.EventVerified
		}
		return verifier.Event{Kind: kind, Verdict: verifier.Verdict{Target: verifier.Target{Host: "shop.example", Port: 443},
			Outcome: outcome, Source: verifier.SourceNotaries, Code: verifier.ReasonDisagree, Agreed: agreed, Asked: len(as), Answers: as}}
	}
	odd := "Notaries: 3 of 4 agreed, 1 saw another certificate. Nordic Notary is the one: its network may be attacked."
	for _, tc := range []struct {
		name string
		ev   verifier.Event
		want string // in the body; "" means the odd one is not named
	}{
		{"allowed, one odd", ev(verifier.OutcomeTrusted, 3, answers(agree, agree, dis, agree)), odd},
		{"blocked by the rule, one odd", ev(verifier.OutcomeRejected, 3, answers(agree, agree, dis, agree)), odd},
		{"two disagree", ev(verifier.OutcomeRejected, 2, answers(agree, agree, dis, dis)), ""},
		{"one agrees, one disagrees", ev(verifier.OutcomeRejected, 1, answers(agree, down, dis)), ""},
	} {
		n := notificationFor(tc.ev)
		if tc.want != "" && !strings.Contains(n.Body, tc.want) {
			t.Errorf("%s: body %q lacks %q", tc.name, n.Body, tc.want)
		}
		if tc.want == "" && strings.Contains(n.Body, "its network may be attacked") {
			t.Errorf("%s: body %q names an odd one out", tc.name, n.Body)
		}
	}
}
