package ui

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/assets"
	"github.com/convergence-ng/convergence/verifier"
)

// Notification actions (the D-Bus actions field,
// https://specifications.freedesktop.org/notification-spec/latest/protocol.html): a
// notification about a site offers "Show details", which opens that verdict's details,
// and "Check my notaries", which opens the Notaries tab. The server answers a click with
// the ActionInvoked signal, naming the notification's id and the action's key.

// The actions' keys and labels, as the actions field lists them: key, label, ...
const (
	actionDetails  = "details"
	actionNotaries = "notaries"
)

var siteActions = []string{actionDetails, "Show details", actionNotaries, "Check my notaries"}

// maxActionable bounds the notifications whose actions are remembered: the oldest is
// forgotten (a click on it then does nothing).
const maxActionable = 64

// actionable remembers which event each notification sent was about. Safe for
// concurrent use.
type actionable struct {
	mu    sync.Mutex // protects byID, order
	byID  map[uint32]verifier.Event
	order []uint32 // oldest first
}

// add remembers that notification id was about ev.
func (a *actionable) add(id uint32, ev verifier.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byID == nil {
		a.byID = map[uint32]verifier.Event{}
	}
	if len(a.order) >= maxActionable {
		delete(a.byID, a.order[0])
		a.order = a.order[1:]
	}
	a.byID[id] = ev
	a.order = append(a.order, id)
}

// event returns what notification id was about.
func (a *actionable) event(id uint32) (verifier.Event, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ev, ok := a.byID[id]
	return ev, ok
}

// subscribe asks the bus for the notification server's ActionInvoked signals and
// returns the channel they arrive on, and how to stop.
func (d *dbusNotifier) subscribe() (<-chan *dbus.Signal, func(), error) {
	opts := []dbus.MatchOption{dbus.WithMatchInterface("org.freedesktop.Notifications"), dbus.WithMatchMember("ActionInvoked")}
	if err := d.conn.AddMatchSignal(opts...); err != nil {
		return nil, nil, err
	}
	ch := make(chan *dbus.Signal, 16)
	d.conn.Signal(ch)
	return ch, func() {
		d.conn.RemoveSignal(ch)
		_ = d.conn.RemoveMatchSignal(opts...)
	}, nil
}

// onAction does what a click on action key of the notification about ev asks. UI
// goroutine only.
func (u *UI) onAction(key string, ev verifier.Event) {
	u.Show()
	switch key {
	case actionDetails:
		u.showDetails(ev)
	case actionNotaries:
		u.selectTab(tabNotaries)
	}
}

// handleSignal turns an ActionInvoked signal into its action on the UI goroutine.
func (u *UI) handleSignal(d *dbusNotifier, s *dbus.Signal) {
	if s == nil || s.Name != "org.freedesktop.Notifications.ActionInvoked" || len(s.Body) != 2 {
		return
	}
	id, ok1 := s.Body[0].(uint32)
	key, ok2 := s.Body[1].(string)
	if !ok1 || !ok2 {
		return
	}
	ev, ok := d.sent.event(id)
	if !ok {
		return // not ours, or forgotten
	}
	u.onUI(func() { u.onAction(key, ev) })
}

// notifyIcon returns the notification's app_icon: the app's own icon, written once to
// the user's cache folder, as a file:// URI (the spec accepts one), so that it shows
// even where no icon theme holds the app's name; else the name, for a theme that does.
func notifyIcon(name string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return name
	}
	path := filepath.Join(dir, "convergence", "notification-icon.png")
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, assets.AppIconPNG.Content()) {
		if os.MkdirAll(filepath.Dir(path), 0o700) != nil || os.WriteFile(path, assets.AppIconPNG.Content(), 0o600) != nil {
			return name
		}
	}
	return (&url.URL{Scheme: "file", Path: path}).String()
}
