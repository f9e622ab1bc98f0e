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
}

// notificationFor words the notification for an alert event: the site, how many
// notaries agreed, and one line on what to do.
func notificationFor(ev verifier.Event) notification {
	v := ev.Verdict
	site := v.Target.Host
	count := fmt.Sprintf("%d of %d notaries saw the same certificate as you.", v.Agreed, v.Asked)
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
	if v.Undecided && !v.Allowed() {
		return notification{
			Title: "Convergence blocked " + site,
			Body: fmt.Sprintf("Too few of your notaries could be reached to check it (%d of %d vouched). ", v.Agreed, v.Asked) +
				"Someone may be cutting you off from them: try another network, or open Convergence to see each notary's answer.",
		}
	}
	if v.Allowed() && ev.Kind == verifier.EventVerified && v.Warning != "" {
		return notification{
			Title: "Not verified: " + site,
			Body: "No notary could vouch for its certificate, and your settings let it through (" + v.Warning + "). " +
				"Avoid entering passwords there; check your network, or your notaries in Convergence.",
		}
	}
	if v.Allowed() {
		return notification{
			Title: "Notaries disagree about " + site,
			Body: count + " The site was allowed, but someone may be intercepting it: " +
				"avoid entering passwords there and open Convergence for details.",
		}
	}
	return notification{
		Title: "Convergence blocked " + site,
		Body: count + " Someone may be intercepting this connection: " +
			"try another network, or open Convergence to see each notary's answer.",
	}
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
	return dbusNotifier{conn: conn, appName: "Convergence", icon: a.UniqueID()}
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
}

func (d dbusNotifier) notify(n notification) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hints := map[string]dbus.Variant{
		"urgency":  dbus.MakeVariant(byte(2)), // critical: a possible interception
		"category": dbus.MakeVariant("network"),
	}
	obj := d.conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		d.appName, uint32(0), d.icon, n.Title, n.Body, []string{}, hints, int32(-1))
	if call.Err != nil {
		return fmt.Errorf("failed to send notification: %w", call.Err)
	}
	return nil
}

// sendNotifications shows queued notifications one at a time until ctx is done, so
// that a slow notification server never blocks Publish.
func (u *UI) sendNotifications(ctx context.Context) {
	for {
		select {
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
