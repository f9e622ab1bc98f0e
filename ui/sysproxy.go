package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
)

// SystemProxyResult is one desktop's proxy setting after an operation
// (core.SystemProxyResult).
type SystemProxyResult = core.SystemProxyResult

// Notice is what the app says unasked (core.Notice).
type Notice = core.Notice

// SystemBackend points the desktop's proxy settings at the proxy and pauses for a while.
type SystemBackend interface {
	// EnableSystemProxy points every desktop's proxy settings found here at the proxy,
	// saving what was there, and reports each; an error when none could be set.
	EnableSystemProxy(ctx context.Context) ([]SystemProxyResult, error)
	// DisableSystemProxy puts back what each desktop held before, exactly.
	DisableSystemProxy(ctx context.Context) ([]SystemProxyResult, error)
	// Pause pauses protection for d, or until resumed when d is 0; the app resumes by
	// itself at the end and says so.
	Pause(ctx context.Context, d time.Duration) error
}

// Tell shows a notice as a desktop notification (whatever the notifications setting:
// the user asked for these, or must hear them) and refreshes what shows the status.
// Safe from any goroutine; it never blocks.
func (u *UI) Tell(n Notice) {
	select {
	case u.notifyCh <- notification{Title: n.Title, Body: n.Body, Calm: true}:
	default: // the sender is stuck on D-Bus
	}
	u.onUI(u.RefreshStatus)
}

// Ended says the app's loop has ended (Fyne's Run returned, or RunInTray returned
// false): work handed to Do from now on is dropped. Fyne would run it at once on the
// caller's goroutine, on a window system it has shut down, and crash (it did, when the
// store change Quit makes reached the window after the loop). Call it first thing after
// the loop.
func (u *UI) Ended() {
	if u.loop != nil {
		u.loop.end()
	}
}

// QuitFromSignal quits on SIGINT or SIGTERM; safe from any goroutine. UI work stops
// being taken at once: Fyne also stops its loop on SIGTERM, by itself, and work handed
// to Fyne after that runs on the caller's goroutine on a window system that is gone
// (a reload finishing then crashed the app in e2e TestDesktopSystemProxyNotifications).
func (u *UI) QuitFromSignal() {
	u.quitting.raise()
	if u.loop == nil {
		u.onUI(u.Quit)
		return
	}
	u.loop.end()
	u.loop.dispatch(u.Quit)
}

// TellNow shows a notice at once, on the calling goroutine, for the moment the app
// quits, when the sender goroutine may be gone: at most the notifier's D-Bus timeout.
func (u *UI) TellNow(n Notice) {
	if err := u.notifier.notify(notification{Title: n.Title, Body: n.Body, Calm: true}); err != nil {
		fyne.LogError("Convergence could not show a notification", err)
	}
}

// pauseChoices are the pauses offered, in the tray and the Setup tab.
var pauseChoices = []struct {
	label, short string
	d            time.Duration
}{
	{"Pause for 15 minutes", "15 minutes", 15 * time.Minute},
	{"Pause for 1 hour", "1 hour", time.Hour},
	{"Pause until I resume", "Until I resume", 0},
}

// pause pauses protection for d (0: until resumed) through the backend, off the UI
// goroutine.
func (u *UI) pause(d time.Duration) {
	u.goWork(func(ctx context.Context) error {
		return u.backend.Pause(ctx, d)
	}, func(err error) {
		if err != nil {
			u.showError("pause protection", err)
		}
		u.RefreshStatus()
	})
}

// pausedLine is the status line of a pause: until when, or until resumed.
func pausedLine(st Status) string {
	if st.PausedUntil.IsZero() {
		return "Protection is paused until you resume it"
	}
	return "Protection is paused until " + st.PausedUntil.Local().Format("15:04")
}

// protectCard is the Setup tab's "Protect this computer": one button that points the
// desktop's proxy settings at Convergence (and puts them back), what each desktop
// holds, and the pause choices.
type protectCard struct {
	u       *UI
	button  *widget.Button
	msg     *widget.Label
	results *fyne.Container
	pauseL  *widget.Label
	pauses  *fyne.Container
	on      bool // the desktop points at Convergence (Status.SystemProxy); UI goroutine only
}

func newProtectCard(u *UI) *protectCard {
	p := &protectCard{u: u}
	p.button = widget.NewButtonWithIcon("Protect this computer", theme.ConfirmIcon(), p.toggle)
	p.button.Importance = widget.HighImportance
	p.msg = wrapLabel("")
	p.results = container.NewVBox()
	p.pauseL = widget.NewLabel("")
	p.pauses = container.NewHBox()
	return p
}

// content is the card's part of the Setup tab's first step.
func (p *protectCard) content() fyne.CanvasObject {
	return container.NewVBox(container.NewHBox(p.button), p.msg, p.results,
		container.NewBorder(nil, nil, p.pauseL, nil, p.pauses))
}

// reload shows the status: the button's words, and the pause row.
func (p *protectCard) reload(st Status) {
	p.on = st.SystemProxy
	if p.on {
		p.button.SetText("Stop protecting this computer")
		p.button.SetIcon(theme.CancelIcon())
		p.button.Importance = widget.MediumImportance
		p.msg.SetText("This computer's proxy settings point at Convergence, so browsers that follow them are checked. Quitting Convergence puts them back as they were.")
	} else {
		p.button.SetText("Protect this computer")
		p.button.SetIcon(theme.ConfirmIcon())
		p.button.Importance = widget.HighImportance
		p.msg.SetText("Points this computer's proxy settings (GNOME, KDE, terminal programs) at Convergence, and remembers what they were: quitting Convergence or pressing the button again puts them back.")
	}
	p.button.Refresh()
	var objs []fyne.CanvasObject
	if st.Paused {
		p.pauseL.SetText(pausedLine(st) + ".")
		objs = append(objs, widget.NewButtonWithIcon("Resume", theme.MediaPlayIcon(), func() { p.u.setPaused(false) }))
	} else {
		p.pauseL.SetText("Pause protection:")
		for _, c := range pauseChoices {
			d := c.d
			objs = append(objs, widget.NewButton(c.short, func() { p.u.pause(d) }))
		}
	}
	p.pauses.Objects = objs
	p.pauses.Refresh()
}

// toggle points the desktop at Convergence, or puts it back, and shows each desktop.
func (p *protectCard) toggle() {
	on := p.on
	var rs []SystemProxyResult
	title := "Pointing this computer at Convergence"
	if on {
		title = "Putting this computer's proxy settings back"
	}
	p.u.withProgress(title, func(ctx context.Context) (err error) {
		if on {
			rs, err = p.u.backend.DisableSystemProxy(ctx)
		} else {
			rs, err = p.u.backend.EnableSystemProxy(ctx)
		}
		return err
	}, func(err error) {
		p.showResults(rs, on)
		if err != nil && len(rs) == 0 {
			action := "protect this computer"
			if on {
				action = "put the proxy settings back"
			}
			p.u.showError(action, err)
		}
		p.u.RefreshStatus()
	})
}

// showResults lists each desktop: changed, already so, not here, or failed.
func (p *protectCard) showResults(rs []SystemProxyResult, disabled bool) {
	var rows []fyne.CanvasObject
	for _, r := range rs {
		name := capitalize(r.Desktop)
		switch {
		case !r.Available:
			rows = append(rows, resultRow(theme.InfoIcon(), name+": not on this computer ("+r.Describe+")."))
		case r.Err != "":
			rows = append(rows, resultRow(theme.ErrorIcon(), name+": not changed: "+r.Err+"."))
		case disabled && r.Changed:
			rows = append(rows, resultRow(theme.ConfirmIcon(), name+": put back as it was ("+r.Describe+")."))
		case disabled:
			rows = append(rows, resultRow(theme.InfoIcon(), name+": "+r.Describe+"."))
		case r.PointsAtUs && r.Changed:
			rows = append(rows, resultRow(theme.ConfirmIcon(), name+": set to use Convergence ("+r.Describe+")."))
		case r.PointsAtUs:
			rows = append(rows, resultRow(theme.ConfirmIcon(), name+": already uses Convergence ("+r.Describe+")."))
		}
	}
	if disabled && len(rs) == 0 {
		rows = append(rows, wrapLabel("Nothing to put back: Convergence had not changed this computer's proxy settings."))
	}
	p.results.Objects = rows
	p.results.Refresh()
}

// capitalize upper-cases the first letter of s, for the start of a line.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
