package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
)

// decisionsTab is "Your decisions": every exception the user made to what the notaries
// decide (core.Decisions), each with when, why, for how long and a Remove button, as
// 'convergence decisions list' shows them.
type decisionsTab struct {
	u       *UI
	content fyne.CanvasObject
	count   *widget.Label
	rows    *fyne.Container

	shown []core.Decision // as loaded; UI goroutine only
}

func newDecisionsTab(u *UI) *decisionsTab {
	t := &decisionsTab{u: u}
	explain := widget.NewLabel("The exceptions you made to what your notaries decide. Remove one to have it checked again; " +
		"nothing here is ever added without you.")
	explain.Wrapping = fyne.TextWrapWord
	t.count = widget.NewLabel("Loading…")
	t.count.TextStyle.Bold = true
	t.rows = container.NewVBox()
	t.content = container.NewBorder(container.NewVBox(explain, t.count), nil, nil, nil, container.NewVScroll(t.rows))
	return t
}

// reload reads the decisions in the background and shows them.
func (t *decisionsTab) reload() {
	var ds []core.Decision
	t.u.goWork(func(ctx context.Context) (err error) {
		ds, err = t.u.backend.Decisions(ctx)
		return err
	}, func(err error) {
		if err != nil {
			t.count.SetText("Your decisions could not be read: " + err.Error())
			return
		}
		t.show(ds)
	})
}

// show lays out one row per decision.
func (t *decisionsTab) show(ds []core.Decision) {
	t.shown = ds
	switch len(ds) {
	case 0:
		t.count.SetText("No decisions: your notaries decide every site.")
	case 1:
		t.count.SetText("1 decision")
	default:
		t.count.SetText(fmt.Sprintf("%d decisions", len(ds)))
	}
	objs := make([]fyne.CanvasObject, 0, len(ds))
	for _, d := range ds {
		objs = append(objs, t.row(d))
	}
	t.rows.Objects = objs
	t.rows.Refresh()
}

// row is one decision: what it does, then when, for how long and why, and Remove.
func (t *decisionsTab) row(d core.Decision) fyne.CanvasObject {
	what := widget.NewLabel(d.What)
	what.TextStyle.Bold = true
	what.Wrapping = fyne.TextWrapWord
	info := widget.NewLabel(fmt.Sprintf("Made %s · lasts %s\nWhy: %s", d.MadeWords(), d.Lasts(), d.Why))
	info.Wrapping = fyne.TextWrapWord
	rm := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { t.remove(d) })
	return container.NewVBox(container.NewBorder(nil, nil, nil, container.NewCenter(rm), container.NewVBox(what, info)), widget.NewSeparator())
}

// remove ends d and shows the list again. Ending most decisions makes Convergence
// stricter; ending a revocation trusts a notary again, so that one asks first, No by
// default.
func (t *decisionsTab) remove(d core.Decision) {
	if d.Kind == core.DecisionRevoked {
		t.u.confirm("Trust this notary again?", d.What+".\n\nRemoving this decision trusts the notary again: its answers count from the next site. "+
			"Do it only if you know why it was revoked and that this is resolved.", true, func(yes bool) {
			if yes {
				t.removeNow(d)
			}
		})
		return
	}
	t.removeNow(d)
}

// removeNow ends d and shows the list again.
func (t *decisionsTab) removeNow(d core.Decision) {
	t.u.goWork(func(ctx context.Context) error {
		_, err := t.u.backend.RemoveDecision(ctx, d.ID)
		return err
	}, func(err error) {
		if err != nil {
			t.u.showError("remove the decision", err)
		}
		t.reload()
		t.u.cache.reload()
		t.u.notaries.reload()
		t.u.settings.reload()
	})
}
