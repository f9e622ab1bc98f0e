package verifier

import (
	"fmt"
	"strings"
)

// How every surface says a verdict's counts (issue 15): the Activity row, the details,
// the block page, the notification, the tray and the terminal all say "2 of 3 agreed,
// 1 not needed" from CountWords, and Decide's reason says the same from its tally.

// counts is how the answers to one verdict fall, one class per answer (tally's classes,
// with the silent ones split into no opinion and not waited for).
type counts struct {
	vouch, young, against, unauthentic, unreachable, noOpinion, notNeeded int
}

func (c counts) asked() int {
	return c.vouch + c.young + c.against + c.unauthentic + c.unreachable + c.noOpinion + c.notNeeded
}

// words says the counts: the agreements out of the notaries asked, then every other
// class that is not empty, in a fixed order; "0 of 3 answered" when none answered
// (some failed, the others were not waited for).
func (c counts) words() string {
	asked := c.asked()
	if asked == 0 {
		return "no notary asked"
	}
	if c.unreachable > 0 && c.unreachable+c.notNeeded == asked {
		// None answered: the ones not waited for had not answered either, when the
		// verdict was settled (Settled) by the others' silence.
		return fmt.Sprintf("0 of %d answered", asked)
	}
	parts := []string{fmt.Sprintf("%d of %d agreed", c.vouch, asked)}
	for _, p := range []struct {
		n     int
		words string
	}{
		{c.against, "saw another certificate"},
		{c.unauthentic, "failed authentication"},
		{c.young, "agreed too recently to count"},
		{c.unreachable, "did not answer"},
		{c.noOpinion, "could not tell"},
		{c.notNeeded, "not needed"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.words))
		}
	}
	return strings.Join(parts, ", ")
}

// countsOfTally returns the counts of a tally whose silent answers include notNeeded
// not waited for.
func countsOfTally(t tally) counts {
	return counts{vouch: t.vouch, young: t.young, against: t.against, unauthentic: t.unauthentic,
		unreachable: t.unreachable, noOpinion: t.silent - t.notNeeded, notNeeded: t.notNeeded}
}

// CountWords says a verdict's counts in the words every surface uses: "2 of 3 agreed,
// 1 not needed", "0 of 3 answered", "1 of 3 agreed, 2 saw another certificate". It
// reads v.Agreed and v.Asked (what the rule counted) and classes the other notaries
// by their answers; a cached verdict's other notaries were not needed (the cache is
// used only when its vouchers still meet the rule). When the answers do not add up to
// v.Asked (notaries grouped into one vote each), it says the agreements only. It is
// "no notary asked" when none was.
func CountWords(v Verdict) string {
	if v.Asked <= 0 {
		return counts{}.words()
	}
	rest := v.Asked - v.Agreed
	if v.Source == SourceCache {
		return counts{vouch: v.Agreed, notNeeded: rest}.words()
	}
	c := counts{vouch: v.Agreed}
	agree := 0
	for _, a := range v.Answers {
		switch a.Kind {
		case AnswerAgree:
			agree++
		case AnswerDisagree:
			c.against++
		case AnswerUnauthentic:
			c.unauthentic++
		case AnswerUnreachable, AnswerInvalid:
			c.unreachable++
		case AnswerNotAsked:
			c.notNeeded++
		default:
			c.noOpinion++
		}
	}
	c.young = max(agree-v.Agreed, 0)
	if c.asked() != v.Asked {
		return fmt.Sprintf("%d of %d agreed", v.Agreed, v.Asked)
	}
	return c.words()
}
