package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/internal/testsupport/dbusmenu"
	"github.com/convergence-ng/convergence/internal/testsupport/xvfb"
)

// Issue 14 item 5: an outage is not an attack. The real desktop app runs in the
// client's namespace in the tray, on a session bus of its own (a dbus-daemon on a
// socket path, which crosses namespaces) and an Xvfb display; the test plays the
// notification server on that bus and reads the tray's menu and tooltip there. Every
// surface the user sees is then read from the real binaries: the block page and its
// header (curl), the notification, the tray.

// desktop is the real app run as at login (--background, in the tray).
type desktop struct {
	conn  *dbus.Conn // the test's connection to the app's session bus
	item  string     // the app's StatusNotifierItem name
	notes chan notifyCall
	proc  *proc
}

type notifyCall struct{ Summary, Body string }

// notifications plays org.freedesktop.Notifications.
type notifications struct{ calls chan notifyCall }

// Notify implements org.freedesktop.Notifications.Notify.
func (n *notifications) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.calls <- notifyCall{summary, body}
	return 1, nil
}

// startDesktop makes the app's data dir with every notary, applies settings, and runs
// the desktop app in the tray in the client's namespace; it returns once the tray's
// menu is up and the proxy answers.
func (w *world) startDesktop(settings ...[2]string) *desktop {
	t := w.t
	t.Helper()
	for _, bin := range []string{"dbus-daemon", "Xvfb"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh test installs it)", bin)
		}
	}
	disp, err := xvfb.Start()
	if errors.Is(err, xvfb.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(disp.Stop)
	// A bus of the app's own on a socket path: an abstract socket (dbus-run-session's)
	// belongs to one network namespace, a path is reached from any.
	// Its configuration names no service directory, so that nothing is started on
	// demand (a keyring daemon would outlive the test): the app then keeps its CA key
	// in a file, as it does wherever no keyring answers.
	busDir := t.TempDir()
	bus := "unix:path=" + filepath.Join(busDir, "bus")
	config := filepath.Join(busDir, "bus.conf")
	w.l.writeFile(config, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>`+bus+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`)
	daemon := exec.Command("dbus-daemon", "--config-file="+config, "--nofork", "--nopidfile")
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	var conn *dbus.Conn
	for range 100 { // about 10 s for the daemon to listen
		if conn, err = dbus.Connect(bus); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("failed to connect to the test's bus %s: %v", bus, err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifications{calls: make(chan notifyCall, 32)}
	if err := conn.Export(n, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("failed to own the notification server's name: %v %v", reply, err)
	}

	w.app = w.l.newApp("client")
	for _, nt := range w.notaries {
		w.app.cli("notary", "add", nt.bundle)
	}
	for _, s := range settings {
		w.app.cli("set", s[0], s[1])
	}
	home := t.TempDir()
	env := append(appEnv(), "DBUS_SESSION_BUS_ADDRESS="+bus, "DISPLAY="+disp.Name, "LANG=en_US.UTF-8",
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"))
	p := w.l.startIn(w.app.ns, "convergence-desktop", env, bins.app, "--background", "--listen", proxyAddr, "--data-dir", w.app.dir)
	d := &desktop{conn: conn, item: fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", p.cmd.Process.Pid), notes: n.calls, proc: p}
	if _, err := d.menu(func(l []string) bool { return slices.Contains(l, "Quit") }); err != nil {
		t.Fatalf("the tray did not come up: %v\n%s", err, tail(p.out.String(), 3000))
	}
	for i := 0; ; i++ { // the proxy may start a moment after the tray
		if _, _, err := w.l.runIn(w.app.ns, os.Environ(), 10*time.Second, "curl", "-sf", "-o", "/dev/null", "http://"+proxyAddr+"/proxy.pac"); err == nil {
			break
		}
		if i == 60 {
			t.Fatalf("the desktop app's proxy did not answer within 30 s\n%s", tail(p.out.String(), 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	return d
}

// menu waits (at most 30 s) until the tray menu's labels satisfy cond.
func (d *desktop) menu(cond func([]string) bool) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	items, err := dbusmenu.WaitFor(ctx, d.conn, d.item, cond)
	return dbusmenu.Labels(items), err
}

// tooltip reads the tray item's tooltip text.
func (d *desktop) tooltip() (string, error) {
	v, err := d.conn.Object(d.item, "/StatusNotifierItem").GetProperty("org.kde.StatusNotifierItem.ToolTip")
	if err != nil {
		return "", err
	}
	var tt struct {
		Icon   string
		Pixmap []struct {
			W, H int32
			Pix  []byte
		}
		Title, Text string
	}
	if err := dbus.Store([]any{v.Value()}, &tt); err != nil {
		return "", err
	}
	return tt.Title, nil
}

// notification waits (at most 60 s) for a notification whose title contains want.
func (d *desktop) notification(t *testing.T, want string) notifyCall {
	t.Helper()
	deadline := time.After(60 * time.Second)
	var seen []notifyCall
	for {
		select {
		case n := <-d.notes:
			if strings.Contains(n.Summary, want) {
				return n
			}
			seen = append(seen, n)
		case <-deadline:
			t.Fatalf("no notification titled %q within 60 s; saw %+v\n%s", want, seen, tail(d.proc.out.String(), 3000))
		}
	}
}

// curlHTML fetches url through the proxy as a browser asks (Accept: text/html).
func (a *app) curlHTML(url string) page {
	a.l.t.Helper()
	hdr := filepath.Join(a.l.t.TempDir(), "headers")
	out, errOut, err := a.l.runIn(a.ns, os.Environ(), 90*time.Second, "curl", "--silent", "--show-error", "--max-time", "60",
		"--proxy", "http://"+proxyAddr, "--cacert", a.caFile, "-H", "Accept: text/html", "--dump-header", hdr, "--output", "-", url)
	if err != nil {
		a.l.t.Fatalf("curl %s: %v: %s", url, err, errOut)
	}
	raw, err := os.ReadFile(hdr)
	if err != nil {
		a.l.t.Fatal(err)
	}
	return parseCurlHeaders(a.l.t, string(raw), out)
}

// Scenario 16: every notary is stopped. The block page, its header, the notification
// and the tray all say the notaries cannot be reached, and none says someone may be
// intercepting; the page offers to allow the site for 10 minutes.
func TestScenario16_EveryNotaryStopped_SaysUnreachableNotIntercepting(t *testing.T) {
	w := newWorld(t, "n1", "n2", "n3")
	w.startShop()
	w.startNotaries("n1", "n2", "n3")
	d := w.startDesktop([2]string{"portal-probe", ""}) // the lab has no portal probe to ask
	for _, n := range w.notaries {
		n.proc.stop()
	}

	p := w.app.curl(shopURL, "")
	if p.status != 403 || p.header.Get("X-Convergence-Reason") != "notaries-unreachable" {
		t.Errorf("curl saw HTTP %d, X-Convergence-Reason %q; want 403 notaries-unreachable; body:\n%s", p.status, p.header.Get("X-Convergence-Reason"), tail(p.body, 1500))
	}
	if !strings.Contains(p.body, "can't reach your notaries") || strings.Contains(strings.ToLower(p.body), "intercept") {
		t.Errorf("text block page:\n%s", p.body)
	}
	h := w.app.curlHTML(shopURL)
	page, details, _ := strings.Cut(h.body, `<details id="details">`)
	if h.header.Get("X-Convergence-Reason") != "notaries-unreachable" || !strings.Contains(page, "can&#39;t reach your notaries") ||
		strings.Contains(strings.ToLower(h.body), "intercept") || !strings.Contains(page, "Allow "+shop+":443 unchecked for 10 minutes") ||
		strings.Contains(page, "connection refused") || !strings.Contains(details, "connection refused") {
		t.Errorf("HTML block page (header %q):\n%s", h.header.Get("X-Convergence-Reason"), tail(h.body, 4000))
	}

	n := d.notification(t, "reach your notaries")
	if n.Summary != "Convergence can't reach your notaries, so sites are blocked" || !strings.Contains(n.Body, "0 of 3 answered") ||
		strings.Contains(strings.ToLower(n.Summary+n.Body), "intercept") {
		t.Errorf("notification %+v", n)
	}
	labels, err := d.menu(func(l []string) bool { return slices.Contains(l, "Notaries unreachable: 0 of 3") })
	if err != nil {
		t.Errorf("tray menu %v: %v", labels, err)
	}
	if tip, err := d.tooltip(); err != nil || tip != "Convergence: Notaries unreachable: 0 of 3" {
		t.Errorf("tray tooltip %q (%v)", tip, err)
	}
	if slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(strings.ToLower(l), "disagree") }) {
		t.Errorf("the tray speaks of a disagreement: %v", labels)
	}
}

// Scenario 17: a real attack (the attacker on the client's path, with a certificate
// the lab's public CA issued). The same surfaces say the notaries disagree.
func TestScenario17_RealAttack_SaysDisagree(t *testing.T) {
	w := newWorld(t, "n1", "n2", "n3")
	w.startShop()
	w.startNotaries("n1", "n2", "n3")
	w.attackFrom("client")
	d := w.startDesktop()

	p := w.app.curl(shopURL, "")
	if p.status != 403 || p.header.Get("X-Convergence-Reason") != "notaries-disagree" || !strings.Contains(p.body, "intercepting") {
		t.Errorf("curl saw HTTP %d, X-Convergence-Reason %q; want 403 notaries-disagree; body:\n%s", p.status, p.header.Get("X-Convergence-Reason"), tail(p.body, 1500))
	}
	h := w.app.curlHTML(shopURL)
	if h.header.Get("X-Convergence-Reason") != "notaries-disagree" || !strings.Contains(h.body, "Someone may be intercepting") ||
		strings.Contains(h.body, "unchecked for 10 minutes") || !strings.Contains(h.body, `id="go-back" autofocus`) {
		t.Errorf("HTML block page:\n%s", tail(h.body, 4000))
	}
	n := d.notification(t, "Convergence blocked "+shop)
	if !strings.Contains(n.Body, "disagree") || strings.Contains(n.Body, "reach your notaries") {
		t.Errorf("notification %+v", n)
	}
	if labels, err := d.menu(func(l []string) bool { return slices.Contains(l, "Notaries disagreed about a site recently") }); err != nil {
		t.Errorf("tray menu %v: %v", labels, err)
	}
	if tip, err := d.tooltip(); err != nil || !strings.Contains(tip, "disagree") {
		t.Errorf("tray tooltip %q (%v)", tip, err)
	}
}
