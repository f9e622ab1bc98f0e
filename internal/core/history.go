package core

import (
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
	Warning     string                  `json:"warning,omitempty"`
	Fingerprint string                  `json:"fingerprint_sha256,omitempty"`
	Agreed      int                     `json:"agreed"`
	Asked       int                     `json:"asked"`
	Notary      string                  `json:"notary,omitempty"`
	Answers     []verifier.NotaryAnswer `json:"answers,omitempty"`
}

// historyEvent turns a verifier event into a row of the event history.
func historyEvent(ev verifier.Event) settings.Event {
	v := ev.Verdict
	d, _ := json.Marshal(historyDetail{ // a struct of plain fields always marshals
		Outcome: v.Outcome.String(), Source: string(v.Source), Reason: v.Reason, Warning: v.Warning,
		Fingerprint: v.FingerprintSHA256, Agreed: v.Agreed, Asked: v.Asked, Notary: ev.Notary,
		Answers: v.Answers,
	})
	return settings.Event{Time: ev.Time, Kind: string(ev.Kind), Host: v.Target.Host, Port: v.Target.Port, Detail: string(d)}
}
