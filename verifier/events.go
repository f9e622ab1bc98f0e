package verifier

import (
	"slices"
	"time"
)

// The events a check reports to Config.OnEvent: at the verdict (emitVerdict) and for
// the answers that come after it (followUp).

// emitVerdict reports a verdict to the listener: verified or rejected, notaries
// disagree when they were split, one notary-unreachable event per notary that gave no
// usable answer, and one notary-impersonated event per answer that failed
// authentication. No lock is held.
func (v *Verifier) emitVerdict(vd Verdict) {
	if v.cfg.OnEvent == nil {
		return
	}
	at := v.now()
	kind := EventRejected
	if vd.Allowed() {
		kind = EventVerified
	}
	v.cfg.OnEvent(Event{Kind: kind, Verdict: vd, Time: at})
	if vd.Disagreement() {
		v.cfg.OnEvent(Event{Kind: EventDisagree, Verdict: vd, Time: at})
	}
	for _, a := range vd.Answers {
		switch a.Kind {
		case AnswerUnreachable, AnswerInvalid:
			v.cfg.OnEvent(Event{Kind: EventNotaryUnreachable, Verdict: vd, Notary: a.Notary, Time: at})
		case AnswerUnauthentic:
			v.cfg.OnEvent(Event{Kind: EventNotaryImpersonated, Verdict: vd, Notary: a.Notary, Time: at})
		}
	}
}

// followUp collects the answers that came after the verdict was settled. The verdict
// stands (it could no longer change), but a late answer can still be news the user
// must hear: a notary that saw another certificate, when the verdict did not show a
// disagreement, is reported as EventDisagree with every answer filled in; an answer
// that failed authentication as EventNotaryImpersonated.
func (v *Verifier) followUp(vd Verdict, heard []bool, pending int, results <-chan notaryResult) {
	full := vd
	full.Answers = slices.Clone(vd.Answers)
	var late []NotaryAnswer
	for ; pending > 0; pending-- {
		r := <-results // every query sends once, by its deadline at the latest
		full.Answers[r.i] = r.a
		heard[r.i] = true
		late = append(late, r.a)
	}
	full.Agreed = 0
	for _, a := range full.Answers {
		if a.Kind == AnswerAgree {
			full.Agreed++
		}
	}
	// The late answers can only add evidence: an impostor's answer or a disagreement
	// outranks the code the verdict was made with (reasonCode's order).
	lateCode := reasonCode(classify(late, Policy{}, time.Time{}), Decision{Outcome: full.Outcome, Warning: full.Warning})
	if lateCode.Attack() && full.Code != ReasonImpersonated {
		full.Code = lateCode
	}
	if v.cfg.OnEvent == nil {
		return
	}
	at := v.now()
	for _, a := range late {
		if a.Kind == AnswerUnauthentic {
			v.cfg.OnEvent(Event{Kind: EventNotaryImpersonated, Verdict: full, Notary: a.Notary, Time: at})
		}
	}
	if vd.Disagreement() || !full.Disagreement() {
		return
	}
	v.cfg.OnEvent(Event{Kind: EventDisagree, Verdict: full, Time: at})
}
