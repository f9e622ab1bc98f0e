package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/verifier"
)

// activityTab lists recent site visits (a site and its verdict, with how many
// connections had it: visits.go), newest first, in a virtualised list with a filter.
type activityTab struct {
	u       *UI
	content fyne.CanvasObject
	filter  *tabEntry
	list    *widget.List
	empty   *widget.Label
	pause   *widget.Button
	status  *widget.Label

	shown    []visit          // newest first, filtered; read and written on the UI goroutine
	visitIdx map[visitKey]int // groupVisitsInto's map, kept between refreshes; UI goroutine only
}

func newActivityTab(u *UI) *activityTab {
	t := &activityTab{u: u}
	t.filter = newTabEntry()
	t.filter.SetPlaceHolder("Filter by site, outcome or notary…")
	t.filter.OnChanged = func(string) { t.refresh() }
	t.list = widget.NewList(
		func() int { return len(t.shown) },
		func() fyne.CanvasObject {
			icon := widget.NewIcon(theme.ConfirmIcon())
			when := widget.NewLabel("00:00:00")
			site := widget.NewLabel("site")
			site.TextStyle.Bold = true
			site.Truncation = fyne.TextTruncateEllipsis
			what := widget.NewLabel("what")
			what.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil, container.NewHBox(icon, when), nil,
				container.NewGridWithColumns(2, site, what))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(t.shown) {
				return
			}
			vis := t.shown[id]
			ev := vis.Event
			row := o.(*fyne.Container)
			grid := row.Objects[0].(*fyne.Container)
			left := row.Objects[1].(*fyne.Container)
			icon := left.Objects[0].(*widget.Icon)
			left.Objects[1].(*widget.Label).SetText(ev.Time.Format("15:04:05"))
			site, what := grid.Objects[0].(*widget.Label), grid.Objects[1].(*widget.Label)
			site.SetText(ev.Verdict.Target.String())
			what.SetText(strings.TrimSuffix(summary(ev), " (cached)") + countWords(vis))
			// A row that was not let through stands apart: its text in the error colour.
			imp := widget.MediumImportance
			if !ev.Verdict.Allowed() && ev.Kind != verifier.EventNotaryUnreachable {
				imp = widget.DangerImportance
			}
			if site.Importance != imp {
				site.Importance, what.Importance = imp, imp
				site.Refresh()
				what.Refresh()
			}
			switch {
			case isAlert(ev):
				icon.SetResource(theme.WarningIcon())
			case ev.Verdict.Allowed():
				icon.SetResource(theme.ConfirmIcon())
			default:
				icon.SetResource(theme.CancelIcon())
			}
		})
	t.list.OnSelected = func(id widget.ListItemID) {
		t.list.Unselect(id)
		if id < len(t.shown) {
			u.showDetails(t.shown[id].Event)
		}
	}
	t.empty = widget.NewLabel("No sites checked yet. Point your browser at the proxy (see Setup) and visit an HTTPS site.")
	t.empty.Wrapping = fyne.TextWrapWord
	t.status = widget.NewLabel("")
	t.pause = widget.NewButtonWithIcon("Pause protection", theme.MediaPauseIcon(), func() {
		u.setPaused(!u.backend.Status().Paused)
	})
	top := container.NewVBox(container.NewBorder(nil, nil, nil, t.pause, t.status), t.filter)
	t.content = container.NewBorder(top, nil, nil, nil, container.NewStack(t.list, t.empty))
	return t
}

// summary words an event for its list row.
func summary(ev verifier.Event) string {
	v := ev.Verdict
	switch {
	case ev.Kind == verifier.EventNotaryUnreachable:
		return "notary " + ev.Notary + " did not answer"
	case ev.Kind == verifier.EventNotaryImpersonated:
		return "notary " + ev.Notary + " impersonated: its answer failed authentication"
	case v.Source == verifier.SourceProxy:
		return v.Outcome.String() + ": not checked: " + v.Reason
	case v.Source == verifier.SourcePin:
		return v.Outcome.String() + ": you trust this certificate here"
	case v.Source == verifier.SourceExempt:
		return v.Outcome.String() + ": not checked (" + v.Reason + ")"
	case v.Source == verifier.SourceCleartext && v.Allowed():
		return "let through unchecked: not TLS (cleartext you allow to this host and port)"
	case v.Source == verifier.SourceCleartext:
		return "refused: not TLS, so it cannot be checked"
	case ev.Kind == verifier.EventDisagree:
		return fmt.Sprintf("%s: notaries disagree, %s", v.Outcome, verifier.CountWords(v))
	case v.Code == verifier.ReasonUnreachable && v.Allowed():
		return fmt.Sprintf("let through unverified: notaries unreachable, %s (not an attack: check the network)", verifier.CountWords(v))
	case v.Code == verifier.ReasonUnreachable:
		return fmt.Sprintf("blocked: notaries unreachable, %s (not an attack: check the network)", verifier.CountWords(v))
	case v.Code.Attack() && !v.Allowed():
		return fmt.Sprintf("blocked: possible interception (%s), %s", v.Code, verifier.CountWords(v))
	}
	if v.Undecided {
		return fmt.Sprintf("%s: too few notaries reached, %s", v.Outcome, verifier.CountWords(v))
	}
	s := fmt.Sprintf("%s: %s", v.Outcome, verifier.CountWords(v))
	if v.Source == verifier.SourceCache {
		s += " (cached)"
	}
	return s
}

// matches reports whether an event matches a lowercase filter.
func matches(ev verifier.Event, filter string) bool {
	if filter == "" {
		return true
	}
	if strings.Contains(strings.ToLower(ev.Verdict.Target.String()), filter) ||
		strings.Contains(strings.ToLower(summary(ev)), filter) ||
		strings.Contains(strings.ToLower(ev.Notary), filter) {
		return true
	}
	for _, a := range ev.Verdict.Answers {
		if strings.Contains(strings.ToLower(a.Notary), filter) {
			return true
		}
	}
	return false
}

// refresh rebuilds the shown rows from the UI's events. It runs on the UI goroutine.
func (t *activityTab) refresh() {
	events := t.u.snapshot()
	f := strings.ToLower(strings.TrimSpace(t.filter.Text))
	var keep func(*verifier.Event) bool
	if f != "" {
		keep = func(ev *verifier.Event) bool { return matches(*ev, f) }
	}
	if t.visitIdx == nil {
		t.visitIdx = map[visitKey]int{}
	}
	t.shown = groupVisitsInto(t.shown, t.visitIdx, events, keep)
	if len(events) == 0 {
		t.empty.Show()
	} else {
		t.empty.Hide()
	}
	st := t.u.backend.Status()
	if st.Paused {
		t.pause.SetText("Resume protection")
		t.pause.SetIcon(theme.MediaPlayIcon())
	} else {
		t.pause.SetText("Pause protection")
		t.pause.SetIcon(theme.MediaPauseIcon())
	}
	s, _ := t.u.currentTrayState()
	t.status.SetText(s.Line + " · " + siteCountWords(siteCount(events)))
	t.list.Refresh()
}
