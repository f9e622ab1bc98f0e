package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"

	"github.com/convergence-ng/convergence/assets"
	"github.com/convergence-ng/convergence/verifier"
)

// trayMode is what the tray icon shows, most urgent first.
type trayMode int

const (
	modeProtecting trayMode = iota // checking sites, nothing recent to report
	modeAlert                      // notaries disagreed or rejected a site recently
	modePaused                     // the user paused protection
	modeProblem                    // protection cannot work: no notaries, no proxy, ...
	modeOffline                    // the notaries cannot be reached: an outage, not an attack
)

// outage is what the verdicts say of the notaries' reachability: set by a verdict
// whose notaries could not be reached (verifier.ReasonUnreachable), cleared by one in
// which notaries answered.
type outage struct {
	Reached, Asked int       // in the last such verdict
	Last           time.Time // when it was made
}

// nextOutage is the outage after ev (pure): verdicts asked of the notaries now decide;
// cached, pinned and exempt ones say nothing about them.
func nextOutage(cur *outage, ev verifier.Event) *outage {
	v := ev.Verdict
	if v.Source != verifier.SourceNotaries || (ev.Kind != verifier.EventRejected && ev.Kind != verifier.EventVerified) {
		return cur
	}
	if v.Code == verifier.ReasonUnreachable {
		return &outage{Reached: v.Reached(), Asked: v.Asked, Last: ev.Time}
	}
	if v.Reached() > 0 {
		return nil
	}
	return cur
}

// outageLine is the tray's line during an outage; with a captive portal found, it
// says so.
func outageLine(o *outage, st Status) string {
	line := fmt.Sprintf("Notaries unreachable: %d of %d", o.Reached, o.Asked)
	if p := st.Portal.Portal; p != nil {
		line += " (the network wants a sign-in at " + p.Host + ")"
	}
	return line
}

// trayState is everything the tray shows; the menu is rebuilt whole from it.
type trayState struct {
	Mode   trayMode
	Line   string           // the status line at the top of the menu
	Alerts []verifier.Event // newest first
}

// computeTrayState decides the tray's look from the backend's status, the number of
// usable notaries (-1: not known yet), the recent alerts (oldest first), the time of
// the last one that is evidence of an attack, the outage (nil: none) and the time.
// Problems outrank a pause, a pause outranks an outage, which outranks an alert; a
// full disk, under which sites are still checked, comes after the problems that stop
// protection, and a key kept in a file after an alert (an attack is more urgent than
// where the key is kept). An outage with no new evidence for alertFor is over.
func computeTrayState(st Status, notaries int, alerts []verifier.Event, lastAlert time.Time, out *outage, now time.Time) trayState {
	s := trayState{Mode: modeProtecting}
	for i := len(alerts) - 1; i >= 0; i-- {
		s.Alerts = append(s.Alerts, alerts[i])
	}
	switch {
	case st.ProxyErr != "":
		s.Mode, s.Line = modeProblem, "Not protecting: the proxy could not start"
	case notaries == 0:
		s.Mode, s.Line = modeProblem, "Not protecting: no notaries are set up"
	case st.DiskFull:
		s.Mode, s.Line = modeProblem, diskFullLine
	case st.Paused:
		s.Mode, s.Line = modePaused, pausedLine(st)
	case out != nil && now.Sub(out.Last) < alertFor:
		s.Mode, s.Line = modeOffline, outageLine(out, st)
	case !lastAlert.IsZero() && now.Sub(lastAlert) < alertFor:
		s.Mode, s.Line = modeAlert, "Notaries disagreed about a site recently"
	case st.KeyringFallback:
		s.Mode, s.Line = modeProblem, "Protecting, but no keyring: the key is kept in a file"
	default:
		s.Line = "Protecting"
		if st.ProxyAddr != "" {
			s.Line = "Protecting (proxy on " + st.ProxyAddr + ")"
		}
	}
	return s
}

// diskFullLine is the tray's and the window's line while the store's writes fail for
// lack of space (Status.DiskFull).
const diskFullLine = "The disk is full: Convergence cannot remember new verdicts"

// icon returns the tray icon for the mode, as PNG: the systray takes bitmaps only.
func (m trayMode) icon() fyne.Resource {
	switch m {
	case modeAlert:
		return assets.TrayAlertPNG
	case modePaused:
		return assets.TrayPausedPNG
	case modeProblem:
		return assets.TrayProblemPNG
	case modeOffline:
		return assets.TrayOfflinePNG
	}
	return assets.TrayProtectingPNG
}

// alertLabel words one alert for the tray menu.
func alertLabel(ev verifier.Event) string {
	v := ev.Verdict
	verb := "blocked"
	if v.Allowed() {
		verb = "disputed"
	}
	if v.Code == verifier.ReasonUnreachable {
		if v.Allowed() {
			verb = "unverified"
		}
		return fmt.Sprintf("%s %s: notaries unreachable, %s (%s)", v.Target.Host, verb, verifier.CountWords(v), ev.Time.Format("15:04"))
	}
	return fmt.Sprintf("%s %s: %s (%s)", v.Target.Host, verb, verifier.CountWords(v), ev.Time.Format("15:04"))
}

// trayMenu builds the whole tray menu from one state.
func (u *UI) trayMenu(s trayState, paused bool) *fyne.Menu {
	status := fyne.NewMenuItem(s.Line, nil)
	status.Disabled = true
	items := []*fyne.MenuItem{status, fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open Convergence", u.Show)}
	if paused {
		items = append(items, fyne.NewMenuItem("Resume protection", func() { u.setPaused(false) }))
	} else {
		for _, c := range pauseChoices {
			d := c.d
			items = append(items, fyne.NewMenuItem(c.label, func() { u.pause(d) }))
		}
	}
	if len(s.Alerts) > 0 {
		items = append(items, fyne.NewMenuItemSeparator())
		head := fyne.NewMenuItem("Recent alerts", nil)
		head.Disabled = true
		items = append(items, head)
		for _, ev := range s.Alerts {
			items = append(items, fyne.NewMenuItem(alertLabel(ev), func() {
				u.Show()
				u.showDetails(ev)
			}))
		}
	}
	quit := fyne.NewMenuItem("Quit", u.Quit)
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu("Convergence", items...)
}

// currentTrayState computes the tray state now.
func (u *UI) currentTrayState() (trayState, Status) {
	st := u.backend.Status()
	u.mu.Lock()
	s := computeTrayState(st, u.notaryN, u.alerts, u.lastAlert, u.outage, u.now())
	u.mu.Unlock()
	return s, st
}

// updateTray rebuilds the tray icon and menu, and the window title, from the current
// state. It runs on the UI goroutine.
func (u *UI) updateTray() {
	s, st := u.currentTrayState()
	u.win.SetTitle("Convergence: " + s.Line)
	if !u.opts.Tray {
		return
	}
	// Rebuild only when what the tray shows changed: a shell that reads the menu
	// between two identical rebuilds would see item IDs vanish.
	key := fmt.Sprint(s.Mode, s.Line, st.Paused)
	for _, ev := range s.Alerts {
		key += "\n" + alertLabel(ev)
	}
	if key == u.trayKey {
		return
	}
	u.trayKey = key
	u.tray.start("Convergence", u.Show)
	u.tray.show(s.Mode.icon().Content(), "Convergence: "+s.Line, u.trayMenu(s, st.Paused))
}

// setPaused pauses or resumes protection through the backend, off the UI goroutine.
func (u *UI) setPaused(paused bool) {
	u.goWork(func(ctx context.Context) error {
		return u.backend.SetPaused(ctx, paused)
	}, func(err error) {
		if err != nil {
			verb := "resume protection"
			if paused {
				verb = "pause protection"
			}
			u.showError(verb, err)
		}
		u.updateTray()
		u.activity.refresh()
		u.setup.reload()
	})
}
