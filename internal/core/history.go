package core

import (
	"context"
	"encoding/json"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// historyDetail is what the event history keeps of a verdict: enough to show the
// Activity list after a restart.
type historyDetail struct {
	Outcome     string                  `json:"outcome"`
	Source      string                  `json:"source"`
	Reason      string                  `json:"reason,omitempty"`
	Code        string                  `json:"code,omitempty"` // verifier.ReasonCode; absent in rows written before codes
	Warning     string                  `json:"warning,omitempty"`
	Fingerprint string                  `json:"fingerprint_sha256,omitempty"`
	Agreed      int                     `json:"agreed"`
	Asked       int                     `json:"asked"`
	Undecided   bool                    `json:"undecided,omitempty"`
	Notary      string                  `json:"notary,omitempty"`
	Answers     []verifier.NotaryAnswer `json:"answers,omitempty"`
}

// HistoryEvent turns a verifier event into a row of the event history, as the core
// writes it for each verdict worth keeping and as History reads it back. Tools that
// fill a history (the memory benchmark's seeder) use it so their rows match the app's.
func HistoryEvent(ev verifier.Event) settings.Event {
	v := ev.Verdict
	d, _ := json.Marshal(historyDetail{ // a struct of plain fields always marshals
		Outcome: v.Outcome.String(), Source: string(v.Source), Reason: v.Reason, Code: string(v.Code), Warning: v.Warning,
		Fingerprint: v.FingerprintSHA256, Agreed: v.Agreed, Asked: v.Asked, Undecided: v.Undecided, Notary: ev.Notary,
		Answers: v.Answers,
	})
	return settings.Event{Time: ev.Time, Kind: string(ev.Kind), Host: v.Target.Host, Port: v.Target.Port, Detail: string(d)}
}

// History returns the newest limit events of the history, oldest first, as the
// verifier reported them (with each notary's answers), for the Activity list after a
// restart. Events still waiting for the history writer are written first, so the
// list holds every event published before the call. Rows whose detail cannot be read
// are skipped.
func (c *Core) History(ctx context.Context, limit int) ([]verifier.Event, error) {
	if err := c.history.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := c.Store.Events(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]verifier.Event, 0, len(rows))
	for i := len(rows) - 1; i >= 0; i-- { // the store gives newest first
		r := rows[i]
		var d historyDetail
		if err := json.Unmarshal([]byte(r.Detail), &d); err != nil {
			continue
		}
		v := verifier.Verdict{
			Target: verifier.Target{Host: r.Host, Port: r.Port}, FingerprintSHA256: d.Fingerprint,
			Source: verifier.Source(d.Source), Reason: d.Reason, Code: verifier.ReasonCode(d.Code), Warning: d.Warning,
			Answers: d.Answers, Agreed: d.Agreed, Asked: d.Asked, Undecided: d.Undecided, Time: r.Time,
		}
		if d.Outcome == verifier.OutcomeTrusted.String() {
			v.Outcome = verifier.OutcomeTrusted
		}
		out = append(out, verifier.Event{Kind: verifier.EventKind(r.Kind), Verdict: v, Notary: d.Notary, Time: r.Time})
	}
	return out, nil
}
