package ui

import (
	"bytes"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/assets"
)

// notificationServer plays org.freedesktop.Notifications on the session bus and
// passes each Notify call on.
type notificationServer struct {
	conn  *dbus.Conn
	calls chan notifyCall
	next  uint32 // the last id given; the Notify calls come one at a time
}

type notifyCall struct {
	ID                       uint32
	App, Icon, Summary, Body string
	Actions                  []string
	Hints                    map[string]dbus.Variant
	Timeout                  int32
}

// Notify implements org.freedesktop.Notifications.Notify.
func (s *notificationServer) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.next++
	s.calls <- notifyCall{s.next, app, icon, summary, body, actions, hints, timeout}
	return s.next, nil
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
	srv := &notificationServer{conn: conn, calls: make(chan notifyCall, 8)}
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
	if _, ok := u.notifier.(*dbusNotifier); !ok {
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
				!strings.Contains(c.Body, "Notaries: 1 of 3 agreed, 1 saw another certificate, 1 did not answer.") {
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

// TestNotificationActionsOpenTheWindow: a notification about a site offers "Show
// details" and "Check my notaries" (the D-Bus actions field); the server's
// ActionInvoked signal for one opens the window on that verdict's details, for the
// other on the Notaries tab. The server is this test on the session bus, as above.
func TestNotificationActionsOpenTheWindow(t *testing.T) {
	srv := ownNotifications(t)
	b := newStoreBackend(t)
	u := newTestUIWith(t, b, defaultNotifier)
	u.selectTab(tabSettings)
	u.Publish(disagreement("actions-check.example", time.Now()))
	waitIdle(t, u)
	var call notifyCall
	deadline := time.After(10 * time.Second)
	for call.ID == 0 {
		select {
		case c := <-srv.calls:
			if strings.Contains(c.Summary, "actions-check.example") {
				call = c
			}
		case <-deadline:
			t.Fatal("no Notify call about actions-check.example within 10 s")
		}
	}
	if strings.Join(call.Actions, "|") != "details|Show details|notaries|Check my notaries" {
		t.Fatalf("actions %q", call.Actions)
	}
	// With the app's icon: a file the server can read, holding the app's PNG.
	if u, err := url.Parse(call.Icon); err != nil || u.Scheme != "file" {
		t.Errorf("app_icon %q is not a file:// URI", call.Icon)
	} else if png, err := os.ReadFile(u.Path); err != nil || !bytes.Equal(png, assets.AppIconPNG.Content()) {
		t.Errorf("app_icon %q does not hold the app's icon: %v", call.Icon, err)
	}
	// The click reaches the UI goroutine through its queue: run what arrives there
	// until the window shows what the action asks, at most 10 s.
	click := func(key string, shown func() bool) {
		t.Helper()
		if err := srv.conn.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications.ActionInvoked", call.ID, key); err != nil {
			t.Fatal(err)
		}
		v, _ := queues.Load(u)
		deadline := time.After(10 * time.Second)
		for !shown() {
			select {
			case fn := <-v.(chan func()):
				fn()
				waitIdle(t, u)
			case <-deadline:
				t.Fatalf("the click on %q did not show in the window within 10 s: %s", key, visibleText(u.win))
			}
		}
	}
	click(actionDetails, func() bool {
		return hasText(u.win, "actions-check.example:443 was rejected") && hasText(u.win, "saw a different certificate")
	})
	click(actionNotaries, func() bool { return u.tabs.Selected() == u.tabItems[tabNotaries] })
}
