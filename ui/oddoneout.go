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

// oddOneOutWords says the split in the counting words (verifier.CountWords) with the
// odd one named: "Notaries: 3 of 4 agreed, 1 saw another certificate. Nordic Notary is
// the one: its network may be attacked."
func oddOneOutWords(v verifier.Verdict, name string) string {
	return fmt.Sprintf("Notaries: %s. %s is the one: its network may be attacked.", verifier.CountWords(v), name)
}
