package verifier_test

import (
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/countcases"
	"github.com/convergence-ng/convergence/verifier"
)

// TestCountWords: the counting words of every case of the shared table, written out by
// hand, and the consensus rule's own reason says the same (the terminal prints it).
func TestCountWords(t *testing.T) {
	for _, c := range countcases.Cases() {
		if got := verifier.CountWords(c.Verdict); got != c.Words {
			t.Errorf("%s: CountWords = %q, want %q", c.Name, got, c.Words)
		}
		if err := c.Says(c.Verdict.Reason); err != nil {
			t.Errorf("Decide's reason: %v", err)
		}
	}
}

// TestCountWordsEdges: no notary asked; answers that do not add up to the votes
// counted (notaries grouped into one vote) say the agreements alone.
func TestCountWordsEdges(t *testing.T) {
	if got := verifier.CountWords(verifier.Verdict{Source: verifier.SourcePin}); got != "no notary asked" {
		t.Errorf("a pinned verdict: %q", got)
	}
	grouped := verifier.Verdict{Source: verifier.SourceNotaries, Agreed: 1, Asked: 2, Answers: []verifier.NotaryAnswer{
		{Notary: "a1", Kind: verifier.AnswerAgree}, {Notary: "a2", Kind: verifier.AnswerAgree}, {Notary: "b", Kind: verifier.AnswerDisagree}}}
	if got := verifier.CountWords(grouped); got != "1 of 2 agreed" {
		t.Errorf("grouped: %q", got)
	}
}

// TestCountWordsNoneAnswered: a verdict settled by two failures before the third
// notary answered says none answered, as one with all three failed does.
func TestCountWordsNoneAnswered(t *testing.T) {
	v := verifier.Verdict{Source: verifier.SourceNotaries, Asked: 3, Answers: []verifier.NotaryAnswer{
		{Notary: "a", Kind: verifier.AnswerUnreachable}, {Notary: "b", Kind: verifier.AnswerInvalid}, {Notary: "c", Kind: verifier.AnswerNotAsked}}}
	if got := verifier.CountWords(v); got != "0 of 3 answered" {
		t.Errorf("CountWords = %q, want %q", got, "0 of 3 answered")
	}
}
