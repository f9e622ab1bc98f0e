package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
)

// Each notary card's health line: its last answer, its answer rate and latency over the
// last hour, or since when it is unreachable (core.HealthFrom). It is worked out from
// the events the window holds, the history read from the store at the first Show and
// every verdict since, and set again as each new verdict arrives (Publish).

// healthLine returns the label of name's health on its card, registered so that
// refreshHealth keeps it current. UI goroutine only.
func (t *notariesTab) healthLine(name string) *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.TextStyle.Bold = true
	if t.health == nil {
		t.health = map[string]*widget.Label{}
	}
	t.health[name] = l
	return l
}

// refreshHealth sets every card's health line from the events held now. UI goroutine
// only.
func (t *notariesTab) refreshHealth() {
	if len(t.health) == 0 {
		return
	}
	now := t.u.now()
	h := core.HealthFrom(t.u.snapshot(), now)
	for name, l := range t.health {
		nh, ok := h[name]
		if !ok {
			nh = core.NotaryHealth{Name: name}
		}
		if w := nh.Words(now); l.Text != w {
			l.SetText(w)
		}
	}
}
