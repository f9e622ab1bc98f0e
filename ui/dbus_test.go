package ui

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// notificationServer plays org.freedesktop.Notifications on the session bus and
// passes each Notify call on.
type notificationServer struct {
	calls chan notifyCall
}

type notifyCall struct {
	App, Icon, Summary, Body string
	Hints                    map[string]dbus.Variant
	Timeout                  int32
}

// Notify implements org.freedesktop.Notifications.Notify.
func (s *notificationServer) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.calls <- notifyCall{app, icon, summary, body, hints, timeout}
	return 1, nil
}

// ownNotifications takes the notification server's name on a private connection to the
// session bus, or skips the test when there is no session bus (make test runs the
// tests under dbus-run-session).
func ownNotifications(t *testing.T) *notificationServer {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus: run under dbus-run-session (make test does)")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	srv := &notificationServer{calls: make(chan notifyCall, 8)}
	if err := conn.Export(srv, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Skipf("cannot own org.freedesktop.Notifications (reply %v, %v): a real notification server runs on this bus", reply, err)
	}
	return srv
}

// TestDisagreementSendsDBusNotification checks the path the app uses: the notifier New
// picks when a session bus exists calls Notify itself over D-Bus (fyne's test app
// would only record the notification, so fyne's own D-Bus path is not used).
func TestDisagreementSendsDBusNotification(t *testing.T) {
	srv := ownNotifications(t)
	b := newStoreBackend(t)
	u := newTestUIWith(t, b, defaultNotifier)
	if _, ok := u.notifier.(dbusNotifier); !ok {
		t.Fatalf("with a session bus the notifier is %T, want dbusNotifier", u.notifier)
	}
	u.Publish(disagreement("dbus-check.example", time.Now()))
	waitIdle(t, u)
	// make test runs the packages side by side on one session bus: another package's
	// app (ui/traytest) may notify this server too. Only the call about this test's
	// site counts.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-srv.calls:
			if !strings.Contains(c.Summary, "dbus-check.example") {
				continue
			}
			if c.App != "Convergence" || c.Summary != "Convergence blocked dbus-check.example" ||
				!strings.Contains(c.Body, "1 of 3 notaries saw the same certificate as you.") {
				t.Fatalf("Notify call: %+v", c)
			}
			if u, ok := c.Hints["urgency"].Value().(byte); !ok || u != 2 {
				t.Errorf("urgency hint = %v, want critical (2)", c.Hints["urgency"])
			}
			return
		case <-deadline:
			t.Fatal("no Notify call about dbus-check.example on the session bus within 10 s")
		}
	}
}
