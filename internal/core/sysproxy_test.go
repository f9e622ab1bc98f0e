package core

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/sessionbus"
	"github.com/convergence-ng/convergence/settings"
)

// desktopSession gives the test a private session bus with dconf on it (real dconf,
// real gsettings, kwriteconfig5 when installed) and a config dir of its own, and
// points this process at them. GNOME's proxy starts as a user's: a manual proxy.
func desktopSession(t *testing.T) *sessionbus.Bus {
	t.Helper()
	b := sessionbus.ForTest(t)
	gsettings(t, "set", "org.gnome.system.proxy", "mode", "'manual'")
	gsettings(t, "set", "org.gnome.system.proxy.http", "host", "'corp-proxy.example'")
	gsettings(t, "set", "org.gnome.system.proxy.http", "port", "3128")
	gsettings(t, "set", "org.gnome.system.proxy", "autoconfig-url", "'http://wpad.example/wpad.dat'")
	return b
}

func gsettings(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("gsettings", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gsettings %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// desktopState is every proxy key GNOME has, the KDE file and the environment.d dir,
// as bytes.
func desktopState(t *testing.T, bus *sessionbus.Bus) string {
	t.Helper()
	var b strings.Builder
	for _, s := range []string{"org.gnome.system.proxy", "org.gnome.system.proxy.http", "org.gnome.system.proxy.https"} {
		b.WriteString(gsettings(t, "list-recursively", s))
	}
	kio, _ := os.ReadFile(filepath.Join(bus.ConfigDir, "kioslaverc"))
	b.WriteString("--- kioslaverc\n" + string(kio))
	envd, _ := os.ReadDir(filepath.Join(bus.ConfigDir, "environment.d"))
	for _, e := range envd {
		body, _ := os.ReadFile(filepath.Join(bus.ConfigDir, "environment.d", e.Name()))
		b.WriteString("--- environment.d/" + e.Name() + "\n" + string(body))
	}
	return b.String()
}

// memSecrets keeps each data dir's CA key in memory across the opens of a test.
var memSecrets = map[string]settings.Secrets{}

func openSysCore(t *testing.T, dir, listen string) *Core {
	t.Helper()
	if memSecrets[dir] == nil {
		memSecrets[dir] = settings.NewMemorySecrets()
	}
	c, err := Open(context.Background(), Options{DataDir: dir, Listen: listen, Secrets: memSecrets[dir]})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sysCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mode(t *testing.T) string {
	return strings.TrimSpace(gsettings(t, "get", "org.gnome.system.proxy", "mode"))
}

func pacURL(t *testing.T) string {
	return strings.TrimSpace(gsettings(t, "get", "org.gnome.system.proxy", "autoconfig-url"))
}

func TestSystemProxyEnableThenDisableRestoresExactly(t *testing.T) {
	bus := desktopSession(t)
	ctx := sysCtx(t)
	before := desktopState(t, bus)
	c := openSysCore(t, t.TempDir(), "127.0.0.1:8118")
	defer c.Close()

	rs, err := c.EnableSystemProxy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := desktops(rs, func(r SystemProxyResult) bool { return r.Changed }); got != "GNOME, KDE and terminal programs" &&
		got != "GNOME and terminal programs" { // KDE's tools may be missing: then it says so
		t.Errorf("Enable changed %q; results %+v", got, rs)
	}
	if m, u := mode(t), pacURL(t); m != "'auto'" || u != "'http://127.0.0.1:8118/proxy.pac'" {
		t.Errorf("after enable: mode %s, autoconfig-url %s", m, u)
	}
	if st := c.Status(); !st.SystemProxy {
		t.Error("Status.SystemProxy is off after enable")
	}
	// A second enable changes nothing and keeps the user's setting, not ours, to put back.
	rs, err = c.EnableSystemProxy(ctx)
	if err != nil || desktops(rs, func(r SystemProxyResult) bool { return r.Changed }) != "" {
		t.Fatalf("second enable: %+v, %v", rs, err)
	}
	status, err := c.SystemProxyStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range status {
		if r.Available && (!r.PointsAtUs || !r.Saved) {
			t.Errorf("status of %s after enable: %+v", r.Desktop, r)
		}
	}
	if s, _ := c.Settings(ctx); !s.ProtectSystem {
		t.Error("the choice was not remembered")
	}

	rs, err = c.DisableSystemProxy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if desktops(rs, func(r SystemProxyResult) bool { return r.Changed }) == "" {
		t.Errorf("disable changed nothing: %+v", rs)
	}
	if after := desktopState(t, bus); after != before {
		t.Errorf("after disable:\n%s\nwant, as before:\n%s", after, before)
	}
	if s, _ := c.Settings(ctx); s.ProtectSystem || c.Status().SystemProxy {
		t.Error("the choice or the status stayed on after disable")
	}
}

// TestSystemProxyDisableLeavesAChangeTheUserMade: a setting the user changed after
// Convergence set it is theirs; disable does not undo it.
func TestSystemProxyDisableLeavesAChangeTheUserMade(t *testing.T) {
	desktopSession(t)
	ctx := sysCtx(t)
	c := openSysCore(t, t.TempDir(), "127.0.0.1:8118")
	defer c.Close()
	if _, err := c.EnableSystemProxy(ctx); err != nil {
		t.Fatal(err)
	}
	gsettings(t, "set", "org.gnome.system.proxy", "mode", "'none'")
	if _, err := c.DisableSystemProxy(ctx); err != nil {
		t.Fatal(err)
	}
	if m := mode(t); m != "'none'" {
		t.Errorf("mode after disable = %s; the user's 'none' was undone", m)
	}
}

// serve runs c's proxy and its start-up work (RunSystemProxy) and returns the notices
// it makes; the proxy stops at the test's end.
func serve(t *testing.T, c *Core) (<-chan Notice, func()) {
	t.Helper()
	notices := make(chan Notice, 8)
	c.OnNotice(func(n Notice) { notices <- n })
	ctx, cancel := context.WithCancel(context.Background())
	served, started := make(chan struct{}), make(chan struct{})
	go func() { defer close(served); c.Serve(ctx) }()           // ends at cancel
	go func() { defer close(started); c.RunSystemProxy(ctx) }() // ends when done
	stop := func() { cancel(); <-served; <-started; c.Close() }
	t.Cleanup(stop)
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("RunSystemProxy did not end within 60 s")
	}
	return notices, stop
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSystemProxyQuitRestoresAndTheNextStartProtectsAgain: Quit puts everything back
// exactly and says so; the user's choice stays, so the next start points the desktop at
// the proxy again.
func TestSystemProxyQuitRestoresAndTheNextStartProtectsAgain(t *testing.T) {
	bus := desktopSession(t)
	ctx := sysCtx(t)
	before := desktopState(t, bus)
	dir, addr := t.TempDir(), freeAddr(t)
	c := openSysCore(t, dir, addr)
	_, stop := serve(t, c)
	if _, err := c.EnableSystemProxy(ctx); err != nil {
		t.Fatal(err)
	}
	n := c.QuitSystemProxy(ctx)
	if n.Kind != NoticeQuit || !strings.Contains(n.Title, "protection is off") || !strings.Contains(n.Body, "GNOME") {
		t.Errorf("quit notice = %+v", n)
	}
	if after := desktopState(t, bus); after != before {
		t.Errorf("after Quit:\n%s\nwant, as before:\n%s", after, before)
	}
	stop()

	next := openSysCore(t, dir, addr)
	notices, _ := serve(t, next)
	if m, u := mode(t), pacURL(t); m != "'auto'" || u != "'http://"+addr+"/proxy.pac'" {
		t.Errorf("the next start did not protect again: mode %s, url %s", m, u)
	}
	select {
	case n := <-notices:
		t.Errorf("a start after a Quit says %+v; nothing happened that needs saying", n)
	default:
	}
}

// TestSystemProxyAfterACrash: a run that ended without Quit leaves the desktop pointing
// at its proxy and the previous setting in the store. The next start resumes when its
// proxy serves at that address, and puts the setting back when it cannot, saying which.
func TestSystemProxyAfterACrash(t *testing.T) {
	ctx := sysCtx(t)
	crash := func(dir, addr string) {
		c := openSysCore(t, dir, addr)
		if _, err := c.EnableSystemProxy(ctx); err != nil {
			t.Fatal(err)
		}
		c.Close() // no Quit: what a SIGKILL leaves (e2e kills the real binary)
	}

	t.Run("its proxy serves: resumed", func(t *testing.T) {
		desktopSession(t)
		dir, addr := t.TempDir(), freeAddr(t)
		crash(dir, addr)
		notices, _ := serve(t, openSysCore(t, dir, addr))
		n := <-notices
		if n.Kind != NoticeSystemProxyResumed || !strings.Contains(n.Body, "GNOME") {
			t.Errorf("notice = %+v; want resumed, naming GNOME", n)
		}
		if m, u := mode(t), pacURL(t); m != "'auto'" || u != "'http://"+addr+"/proxy.pac'" {
			t.Errorf("after resume: mode %s, url %s", m, u)
		}
	})
	t.Run("its port is taken: put back", func(t *testing.T) {
		bus := desktopSession(t)
		before := desktopState(t, bus)
		dir := t.TempDir()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		crash(dir, ln.Addr().String())
		notices, _ := serve(t, openSysCore(t, dir, ln.Addr().String()))
		n := <-notices
		if n.Kind != NoticeSystemProxyRestored || !strings.Contains(n.Body, "could not start") {
			t.Errorf("notice = %+v; want restored, saying the proxy could not start", n)
		}
		if m := mode(t); m != "'manual'" {
			t.Errorf("mode after a start that could not serve = %s; want the user's 'manual' back", m)
		}
		if after := desktopState(t, bus); after != before {
			t.Errorf("after the put-back start:\n%s\nwant, as before:\n%s", after, before)
		}
	})
}

func TestDecideLeftover(t *testing.T) {
	for _, c := range []struct {
		stillHolds, sameAddr, serving, answered bool
		want                                    leftoverAction
	}{
		{false, true, true, false, leftoverForget},
		{false, false, false, true, leftoverForget},
		{true, true, true, false, leftoverResume},
		{true, true, false, false, leftoverRestore},
		{true, false, true, false, leftoverRestore},
		{true, false, false, false, leftoverRestore},
		{true, true, false, true, leftoverKeep},
		{true, false, false, true, leftoverKeep},
		{true, false, true, true, leftoverRestore}, // this run serves elsewhere: the old address is not its
	} {
		if got := decideLeftover(c.stillHolds, c.sameAddr, c.serving, c.answered); got != c.want {
			t.Errorf("decideLeftover(%v, %v, %v, %v) = %v, want %v", c.stillHolds, c.sameAddr, c.serving, c.answered, got, c.want)
		}
	}
}

// TestSystemProxySecondRunOnATakenPortLeavesTheFirstsSettings: a second headless start
// on the data dir of a running, protecting app cannot listen (the first has the port);
// it must neither restore the first's settings at start nor at its Quit.
func TestSystemProxySecondRunOnATakenPortLeavesTheFirstsSettings(t *testing.T) {
	desktopSession(t)
	ctx := sysCtx(t)
	dir, addr := t.TempDir(), freeAddr(t)
	first := openSysCore(t, dir, addr)
	serve(t, first)
	if _, err := first.EnableSystemProxy(ctx); err != nil {
		t.Fatal(err)
	}
	second := openSysCore(t, dir, addr)
	notices, _ := serve(t, second)
	second.QuitSystemProxy(ctx)
	if m, u := mode(t), pacURL(t); m != "'auto'" || u != "'http://"+addr+"/proxy.pac'" {
		t.Errorf("after a second run on a taken port: mode %s, url %s; the first's setting was undone", m, u)
	}
	select {
	case n := <-notices:
		t.Errorf("the second run said %+v", n)
	default:
	}
	if n := first.QuitSystemProxy(ctx); !strings.Contains(n.Body, "GNOME") || mode(t) != "'manual'" {
		t.Errorf("the first's Quit: %+v, mode %s", n, mode(t))
	}
}

// TestSystemProxyEnabledOnTheTerminalShowsInTheRunningApp: 'system-proxy enable' in
// another process reaches the running app's Status (the Setup tab's button), through
// the store's change counter.
func TestSystemProxyEnabledOnTheTerminalShowsInTheRunningApp(t *testing.T) {
	desktopSession(t)
	ctx := sysCtx(t)
	dir := t.TempDir()
	app := openSysCore(t, dir, "127.0.0.1:8118")
	defer app.Close()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); app.runWatch(wctx, 20*time.Millisecond) }() // ends at stop
	defer func() { stop(); <-done }()
	if app.Status().SystemProxy {
		t.Fatal("SystemProxy is on before anything was enabled")
	}
	term := openSysCore(t, dir, "127.0.0.1:8118")
	if _, err := term.EnableSystemProxy(ctx); err != nil {
		t.Fatal(err)
	}
	term.Close()
	for i := 0; !app.Status().SystemProxy; i++ {
		if i == 500 {
			t.Fatal("the running app's Status did not show the terminal's enable within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
