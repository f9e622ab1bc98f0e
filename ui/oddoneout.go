package ui

import (
	"fmt"

	"github.com/convergence-ng/convergence/verifier"
)

// oddOneOut names the one notary that saw another certificate when at least two others
// saw the user's: then the likelier story is that notary's network, not the user's, is
// attacked, and the notification says so. ok is false for any other split.
func oddOneOut(v verifier.Verdict) (name string, ok bool) {
	for _, a := range v.Answers {
		if a.Kind != verifier.AnswerDisagree {
			continue
		}
		if name != "" {
			return "", false // two or more disagree
		}
		name = a.Notary
	}
	return name, name != "" && v.Agreed >= 2
}

// oddOneOutWords says the split with the odd one named: "3 of 4 notaries agree with
// you; Nordic Notary sees another certificate: its network may be attacked."
func oddOneOutWords(v verifier.Verdict, name string) string {
	return fmt.Sprintf("%d of %d notaries agree with you; %s sees another certificate: its network may be attacked.", v.Agreed, v.Asked, name)
}
