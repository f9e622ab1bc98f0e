package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/sessionbus"
)

// desktopBus starts a private session bus that offers dconf (GNOME's settings) and
// nothing else, and sets a user's GNOME proxy on it: a manual proxy with a host and an
// old PAC URL, values that are not the defaults, to see them come back byte for byte.
func desktopBus(t *testing.T) *sessionbus.Bus {
	t.Helper()
	for _, bin := range []string{"gsettings", "/usr/libexec/dconf-service"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh test installs libglib2.0-bin, dconf-service, dconf-gsettings-backend, gsettings-desktop-schemas)", bin)
		}
	}
	bus, err := sessionbus.Start(t.TempDir())
	if errors.Is(err, sessionbus.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Stop)
	for _, kv := range [][]string{
		{"org.gnome.system.proxy", "mode", "'manual'"},
		{"org.gnome.system.proxy.https", "host", "'corp-proxy.example'"},
		{"org.gnome.system.proxy.https", "port", "3128"},
		{"org.gnome.system.proxy", "autoconfig-url", "'http://wpad.example/wpad.dat'"},
	} {
		gsettingsOn(t, bus, append([]string{"set"}, kv...)...)
	}
	return bus
}

// gsettingsOn runs gsettings against bus and returns its output.
func gsettingsOn(t *testing.T, bus *sessionbus.Bus, args ...string) string {
	t.Helper()
	cmd := exec.Command("gsettings", args...)
	cmd.Env = bus.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gsettings %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// proxySettings is everything GNOME holds about the proxy (every key of the proxy
// schemas), KDE's kioslaverc and the environment.d dir, as bytes.
func proxySettings(t *testing.T, bus *sessionbus.Bus) string {
	t.Helper()
	var b strings.Builder
	for _, s := range []string{"org.gnome.system.proxy", "org.gnome.system.proxy.http", "org.gnome.system.proxy.https", "org.gnome.system.proxy.socks"} {
		b.WriteString(gsettingsOn(t, bus, "list-recursively", s))
	}
	kio, _ := os.ReadFile(filepath.Join(bus.ConfigDir, "kioslaverc"))
	b.WriteString("--- kioslaverc\n" + string(kio))
	entries, _ := os.ReadDir(filepath.Join(bus.ConfigDir, "environment.d"))
	for _, e := range entries {
		body, _ := os.ReadFile(filepath.Join(bus.ConfigDir, "environment.d", e.Name()))
		b.WriteString("--- environment.d/" + e.Name() + "\n" + string(body))
	}
	return b.String()
}

func gnomeMode(t *testing.T, bus *sessionbus.Bus) (mode, url string) {
	t.Helper()
	return strings.TrimSpace(gsettingsOn(t, bus, "get", "org.gnome.system.proxy", "mode")),
		strings.TrimSpace(gsettingsOn(t, bus, "get", "org.gnome.system.proxy", "autoconfig-url"))
}

// stopApp sends sig to a running app and waits (at most 30 s) for it to end.
func stopApp(t *testing.T, r *running, sig syscall.Signal) {
	t.Helper()
	r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		// SIGQUIT makes the Go runtime write every goroutine's stack into the log: where
		// the app is stuck.
		r.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
		}
		t.Fatalf("the app did not end within 30 s of %v; its log, with its goroutines at SIGQUIT:\n%s", sig, r.log())
	}
}

// waitLog waits (at most 30 s) until the app's log matches re.
func waitLog(t *testing.T, r *running, re *regexp.Regexp) string {
	t.Helper()
	for range 300 {
		if m := re.FindString(r.log()); m != "" {
			return m
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the app's log does not match %q within 30 s:\n%s", re, r.log())
	return ""
}

// TestDesktopSystemProxyQuitAndKill runs the real binary (headless) under a private
// session bus with real dconf: 'system-proxy enable' points GNOME at the proxy's PAC
// file; SIGTERM (a Quit) puts back every value exactly; the next start points it at the
// proxy again (the user's choice stays); after a SIGKILL the next start resumes, and
// says so; after a SIGKILL and a start at another address, the start puts the settings
// back, and says so. It needs neither root nor a display.
func TestDesktopSystemProxyQuitAndKill(t *testing.T) {
	bus := desktopBus(t)
	before := proxySettings(t, bus)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	env := append(bus.Environ(), "LANG=en_US.UTF-8", "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
	addr := freeLoopbackAddr(t)
	runs := 0
	start := func(listen string) *running {
		runs++
		r := startApp(t, env, filepath.Join(tmp, "run"+string(rune('0'+runs))+".log"), "--headless", "--data-dir", data, "--listen", listen)
		waitPAC(t, listen, r)
		return r
	}
	pac := "'http://" + addr + "/proxy.pac'"

	app := start(addr)
	cmd := exec.Command(bins.app, "--data-dir", data, "--listen", addr, "system-proxy", "enable")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "changed: GNOME") {
		t.Fatalf("system-proxy enable: %v\n%s", err, out)
	}
	if m, u := gnomeMode(t, bus); m != "'auto'" || u != pac {
		t.Fatalf("after enable: mode %s, autoconfig-url %s; want 'auto', %s", m, u, pac)
	}

	stopApp(t, app, syscall.SIGTERM)
	if !strings.Contains(app.log(), "notice=quit") {
		t.Errorf("the Quit logged no notice:\n%s", app.log())
	}
	if after := proxySettings(t, bus); after != before {
		t.Fatalf("after SIGTERM (Quit):\n%s\nwant, as before:\n%s", after, before)
	}

	app = start(addr)
	waitLog(t, app, regexp.MustCompile(`protecting this computer.*desktops="GNOME`))
	if m, u := gnomeMode(t, bus); m != "'auto'" || u != pac {
		t.Fatalf("the next start did not protect again: mode %s, url %s", m, u)
	}
	stopApp(t, app, syscall.SIGKILL)
	if m, _ := gnomeMode(t, bus); m != "'auto'" {
		t.Fatalf("after SIGKILL the setting is %s; the test needs the leftover", m)
	}

	app = start(addr)
	waitLog(t, app, regexp.MustCompile(`notice=system-proxy-resumed`))
	if m, u := gnomeMode(t, bus); m != "'auto'" || u != pac {
		t.Errorf("after the resume: mode %s, url %s", m, u)
	}
	stopApp(t, app, syscall.SIGKILL)

	other := freeLoopbackAddr(t)
	app = start(other)
	line := waitLog(t, app, regexp.MustCompile(`.*notice=system-proxy-restored.*`))
	if !strings.Contains(line, "GNOME") {
		t.Errorf("the restore's log line does not name GNOME: %s", line)
	}
	if after := proxySettings(t, bus); after != before {
		t.Errorf("after a start at another address:\n%s\nwant, as before:\n%s", after, before)
	}
	stopApp(t, app, syscall.SIGTERM)
	if after := proxySettings(t, bus); after != before {
		t.Errorf("after the last Quit:\n%s\nwant, as before:\n%s", after, before)
	}
}
