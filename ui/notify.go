package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/verifier"
)

// isAlert reports whether an event deserves the user's attention: notaries disagreed,
// someone impersonated a notary, or the notaries (not a pin or an exemption) rejected
// the site.
func isAlert(ev verifier.Event) bool {
	switch ev.Kind {
	case verifier.EventDisagree, verifier.EventNotaryImpersonated:
		return true
	case verifier.EventRejected:
		return ev.Verdict.Source == verifier.SourceNotaries || ev.Verdict.Source == verifier.SourceCache
	case verifier.EventVerified:
		// Let through unverified, because no notary answered and the setting allows it:
		// the browser shows nothing, so the user must hear it from us.
		return ev.Verdict.Warning != ""
	}
	return false
}

// alarming reports whether an alert is evidence that someone may be intercepting: a
// disagreement or an impersonated notary (verifier.ReasonCode.Attack). Only these turn
// the tray to its alert state; an outage has a state of its own.
func alarming(ev verifier.Event) bool {
	return ev.Kind == verifier.EventNotaryImpersonated || ev.Verdict.Code.Attack()
}

// rateLimiter allows at most one notification per site within every. It is not safe
// for concurrent use (the UI holds its mutex) and reads no clock: now is passed in.
type rateLimiter struct {
	every time.Duration
	last  map[string]time.Time // site -> when it was last allowed
}

// allow reports whether a notification about site may be shown at now, and if so
// records it. Entries older than every are forgotten, so the map stays small.
func (r *rateLimiter) allow(site string, now time.Time) bool {
	if r.last == nil {
		r.last = map[string]time.Time{}
	}
	for s, t := range r.last {
		if now.Sub(t) >= r.every {
			delete(r.last, s)
		}
	}
	if t, ok := r.last[site]; ok && now.Sub(t) < r.every && !now.Before(t) {
		return false
	}
	r.last[site] = now
	return true
}

// notification is one desktop notification's text.
type notification struct {
	Title string
	Body  string
	// Calm marks a notification about an outage, a setup step or a reminder, not a possible
	// interception: it is sent with normal urgency, not critical.
	Calm bool
	// Event, when set, is the verdict the notification is about: it then offers
	// "Show details" and "Check my notaries" (notifyactions.go).
	Event *verifier.Event
}

// outageTitle is the notification's title when the notaries cannot be reached.
const outageTitle = "Convergence can't reach your notaries, so sites are blocked"

// notificationFor words the notification for an alert event from its reason code
// (verifier.Verdict.Code): the site, how many notaries agreed, and one line on what to
// do. Only a disagreement or an impersonated notary says someone may be intercepting.
func notificationFor(ev verifier.Event) notification {
	v := ev.Verdict
	site := v.Target.Host
	count := "Notaries: " + verifier.CountWords(v) + "."
	if v.Asked == 0 {
		count = "No notary could vouch for its certificate."
	}
	if ev.Kind == verifier.EventNotaryImpersonated {
		return notification{
			Title: "Someone is impersonating notary " + ev.Notary,
			Body: "While checking " + site + ", an answer in the name of " + ev.Notary + " failed authentication: " +
				"someone on this network is pretending to be that notary, and may be intercepting your connections. " +
				"Convergence counted it against the site. Try another network, or open Convergence for details.",
		}
	}
	unverified := v.Allowed() && ev.Kind == verifier.EventVerified && v.Warning != ""
	switch v.Code {
	case verifier.ReasonUnreachable:
		if unverified {
			return notification{Calm: true, Title: "Not verified: " + site,
				Body: "Convergence can't reach your notaries, and your settings let the site through unchecked (" + v.Warning + "). " +
					"Avoid entering passwords there; check your network connection."}
		}
		return notification{Calm: true, Title: outageTitle,
			Body: fmt.Sprintf("While checking %s: %s. This is usually a network problem, not an attack: ", site, verifier.CountWords(v)) +
				"check your connection, or sign in to the network if it asks. The block page offers ways out."}
	case verifier.ReasonBelowThreshold:
		if unverified {
			return notification{Calm: true, Title: "Not verified: " + site,
				Body: "Too few notaries vouched for its certificate, and your settings let it through (" + v.Warning + "). Avoid entering passwords there."}
		}
		return notification{Calm: true, Title: "Convergence blocked " + site,
			Body: fmt.Sprintf("Too few of your notaries vouched for its certificate (%s), though none saw another one. ", verifier.CountWords(v)) +
				"A very new certificate ends here; try again later, or open Convergence to see each notary's answer."}
	case verifier.ReasonDisagree, verifier.ReasonImpersonated:
		if odd, ok := oddOneOut(v); ok && v.Code == verifier.ReasonDisagree {
			count = oddOneOutWords(v, odd) // oddoneout.go
		}
		if v.Allowed() {
			return notification{
				Title: "Notaries disagree about " + site,
				Body: count + " The site was allowed, but someone may be intercepting it: " +
					"avoid entering passwords there and open Convergence for details.",
			}
		}
		why := " Your notaries disagree with the certificate your connection was given: someone may be intercepting this connection. "
		if v.Code == verifier.ReasonImpersonated {
			why = " An answer in a notary's name failed authentication: someone may be intercepting this connection. "
		}
		return notification{
			Title: "Convergence blocked " + site,
			Body:  count + why + "Try another network, or open Convergence to see each notary's answer.",
		}
	}
	// A verdict without a code (from a history written before codes): plain facts.
	if unverified {
		return notification{Calm: true, Title: "Not verified: " + site,
			Body: "No notary could vouch for its certificate, and your settings let it through (" + v.Warning + "). Avoid entering passwords there."}
	}
	return notification{Title: "Convergence blocked " + site, Body: count + " Open Convergence to see each notary's answer."}
}

// notifyKey is what the rate limit counts notifications by: the site, except for an
// outage, which is one event however many sites it blocks.
func notifyKey(ev verifier.Event) string {
	if ev.Verdict.Code == verifier.ReasonUnreachable && ev.Kind != verifier.EventNotaryImpersonated {
		return "\x00" + string(verifier.ReasonUnreachable)
	}
	return ev.Verdict.Target.Host
}

// notifier shows desktop notifications.
type notifier interface {
	notify(n notification) error
}

// defaultNotifier talks to the notification server on the session bus itself when one
// is reachable (the path the D-Bus test checks), else hands notifications to fyne.
// It never starts a bus: without an address, godbus would autolaunch a dbus-daemon
// through dbus-launch, which outlives the app.
func defaultNotifier(a fyne.App) notifier {
	if !sessionBusAddressed() {
		return fyneNotifier{a}
	}
	conn, err := dbus.SessionBus() // shared connection; never closed
	if err != nil {
		return fyneNotifier{a}
	}
	return &dbusNotifier{conn: conn, appName: "Convergence", icon: notifyIcon(a.UniqueID())}
}

// fyneNotifier sends through the fyne app (on Linux fyne also uses D-Bus; in the test
// app it records the notification).
type fyneNotifier struct{ app fyne.App }

func (f fyneNotifier) notify(n notification) error {
	f.app.SendNotification(fyne.NewNotification(n.Title, n.Body))
	return nil
}

// dbusNotifier calls org.freedesktop.Notifications.Notify
// (https://specifications.freedesktop.org/notification-spec/latest/protocol.html).
type dbusNotifier struct {
	conn    *dbus.Conn
	appName string
	icon    string
	sent    actionable // what each notification with actions was about
}

func (d *dbusNotifier) notify(n notification) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	urgency := byte(2) // critical: a possible interception
	if n.Calm {
		urgency = 1 // normal: an outage, a setup step
	}
	hints := map[string]dbus.Variant{
		"urgency":  dbus.MakeVariant(urgency),
		"category": dbus.MakeVariant("network"),
	}
	actions := []string{}
	if n.Event != nil {
		actions = siteActions
	}
	obj := d.conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		d.appName, uint32(0), d.icon, n.Title, n.Body, actions, hints, int32(-1))
	if call.Err != nil {
		return fmt.Errorf("failed to send notification: %w", call.Err)
	}
	var id uint32
	if n.Event != nil && call.Store(&id) == nil {
		d.sent.add(id, *n.Event)
	}
	return nil
}

// sendNotifications shows queued notifications one at a time until ctx is done, so
// that a slow notification server never blocks Publish.
func (u *UI) sendNotifications(ctx context.Context) {
	// A click on a notification's action comes back as a signal, handled here too.
	var clicks <-chan *dbus.Signal
	d, _ := u.notifier.(*dbusNotifier)
	if d != nil {
		ch, stop, err := d.subscribe()
		if err != nil {
			fyne.LogError("Convergence could not listen for clicks on its notifications", err)
		} else {
			clicks = ch
			defer stop()
		}
	}
	for {
		select {
		case s, ok := <-clicks:
			if !ok { // the bus connection closed
				clicks = nil
				continue
			}
			u.handleSignal(d, s)
		case <-ctx.Done():
			return
		case n := <-u.notifyCh:
			if err := u.notifier.notify(n); err != nil {
				fyne.LogError("Convergence could not show a notification", err)
			}
		}
	}
}

// sessionBusAddressed reports whether a session bus address is known without
// autolaunching one: from DBUS_SESSION_BUS_ADDRESS, or systemd's per-user bus socket.
func sessionBusAddressed() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "bus"))
	return err == nil
}
