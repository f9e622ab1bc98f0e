package e2e

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/internal/testsupport/xvfb"
)

// waitNotify waits (at most 30 s) for a notification whose title contains title.
// (notifications, the test's notification server, is outage_test.go's.)
func waitNotify(t *testing.T, n *notifications, title string) notifyCall {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case c := <-n.calls:
			if strings.Contains(c.Summary, title) {
				return c
			}
		case <-deadline:
			t.Fatalf("no notification titled %q within 30 s", title)
		}
	}
}

// TestDesktopSystemProxyNotifications runs the real desktop app (a window under a
// private Xvfb) on a private session bus with dconf, where the test is the
// notification server: Quit (SIGTERM) puts GNOME's proxy back exactly and a
// notification says protection is off; after a SIGKILL, the next start resumes and a
// notification says so.
func TestDesktopSystemProxyNotifications(t *testing.T) {
	bus := desktopBus(t)
	d, err := xvfb.Start()
	if errors.Is(err, xvfb.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	conn, err := dbus.Connect(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv := &notifications{calls: make(chan notifyCall, 16)}
	if err := conn.Export(srv, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("cannot own org.freedesktop.Notifications on the private bus: %v, %v", reply, err)
	}

	before := proxySettings(t, bus)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	env := append(bus.Environ(), "DISPLAY="+d.Name, "LANG=en_US.UTF-8", "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
	addr := freeLoopbackAddr(t)
	app := startApp(t, env, filepath.Join(tmp, "first.log"), "--data-dir", data, "--listen", addr)
	waitPAC(t, addr, app)
	cli := startAgain(t, env, data, "--listen", addr, "system-proxy", "enable")
	if cli.err != nil || !strings.Contains(cli.out, "changed: GNOME") {
		t.Fatalf("system-proxy enable: %v\n%s", cli.err, cli.out)
	}

	stopApp(t, app, syscall.SIGTERM)
	defer func() {
		if t.Failed() {
			t.Logf("first run's log:\n%s", app.log()[:min(len(app.log()), 4000)])
		}
	}()
	n := waitNotify(t, srv, "protection is off")
	if !strings.Contains(n.Body, "GNOME") {
		t.Errorf("the Quit notification does not name GNOME: %q", n.Body)
	}
	if after := proxySettings(t, bus); after != before {
		t.Fatalf("after Quit:\n%s\nwant, as before:\n%s", after, before)
	}

	// The next start protects again (the choice stays); a SIGKILL leaves the setting.
	app = startApp(t, env, filepath.Join(tmp, "second.log"), "--data-dir", data, "--listen", addr)
	waitPAC(t, addr, app)
	waitLog(t, app, regexp.MustCompile(`protecting this computer`))
	stopApp(t, app, syscall.SIGKILL)
	app = startApp(t, env, filepath.Join(tmp, "third.log"), "--data-dir", data, "--listen", addr)
	waitPAC(t, addr, app)
	n = waitNotify(t, srv, "protects this computer again")
	if !strings.Contains(n.Body, "GNOME") {
		t.Errorf("the resume notification does not name GNOME: %q", n.Body)
	}
	if m, u := gnomeMode(t, bus); m != "'auto'" || u != "'http://"+addr+"/proxy.pac'" {
		t.Errorf("after the resume: mode %s, url %s", m, u)
	}
	stopApp(t, app, syscall.SIGTERM)
	waitNotify(t, srv, "protection is off")
	if after := proxySettings(t, bus); after != before {
		t.Errorf("after the last Quit:\n%s\nwant, as before:\n%s", after, before)
	}
}
