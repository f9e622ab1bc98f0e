package sysproxy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/sessionbus"
)

var target = TargetFor("127.0.0.1:8118")

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// privateBus gives the test a session bus of its own with dconf on it, and points this
// process (and the gsettings it runs) at it. Real dconf, real gsettings: the test
// skips only when they are not installed.
func privateBus(t *testing.T) *sessionbus.Bus { return sessionbus.ForTest(t) }

func gs(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("gsettings", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gsettings %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// gnomeProxyState is everything gsettings says about the proxy, every key of every
// proxy schema, as bytes.
func gnomeProxyState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, s := range []string{"org.gnome.system.proxy", "org.gnome.system.proxy.http", "org.gnome.system.proxy.https", "org.gnome.system.proxy.socks"} {
		b.WriteString(gs(t, "list-recursively", s))
	}
	return b.String()
}

func TestGNOMEApplyAndRestoreExactly(t *testing.T) {
	bus := privateBus(t)
	ctx := testCtx(t)
	g := gnome{}
	if err := g.Available(ctx); err != nil {
		t.Fatal(err)
	}
	for name, setup := range map[string][][]string{
		"a manual proxy set before": {
			{"set", "org.gnome.system.proxy", "mode", "'manual'"},
			{"set", "org.gnome.system.proxy.https", "host", "'corp-proxy.example'"},
			{"set", "org.gnome.system.proxy.https", "port", "3128"},
			{"set", "org.gnome.system.proxy", "autoconfig-url", "'http://wpad.example/old.pac'"},
		},
		"the defaults": {
			{"reset-recursively", "org.gnome.system.proxy"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			for _, args := range setup {
				gs(t, args...)
			}
			before := gnomeProxyState(t)
			dbBefore, _ := os.ReadFile(filepath.Join(bus.ConfigDir, "dconf", "user"))
			prev, err := g.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Apply(ctx, target); err != nil {
				t.Fatal(err)
			}
			if got := gs(t, "get", "org.gnome.system.proxy", "mode"); got != "'auto'\n" {
				t.Errorf("mode after Apply = %q, want 'auto'", got)
			}
			if got := gs(t, "get", "org.gnome.system.proxy", "autoconfig-url"); got != "'http://127.0.0.1:8118/proxy.pac'\n" {
				t.Errorf("autoconfig-url after Apply = %q", got)
			}
			if st, err := g.Current(ctx, target); err != nil || !st.PointsAt {
				t.Errorf("Current after Apply = %+v, %v; want pointing at us", st, err)
			}
			if st, _ := g.Current(ctx, TargetFor("127.0.0.1:9999")); st.PointsAt {
				t.Errorf("Current says it points at another port: %+v", st)
			}
			if err := g.Restore(ctx, prev); err != nil {
				t.Fatal(err)
			}
			if after := gnomeProxyState(t); after != before {
				t.Errorf("after Restore:\n%s\nwant, as before:\n%s", after, before)
			}
			if st, _ := g.Current(ctx, target); st.PointsAt {
				t.Errorf("Current after Restore still points at us: %+v", st)
			}
			if name == "the defaults" {
				// Defaults are reset, not written: dconf's database holds no proxy key.
				db, _ := os.ReadFile(filepath.Join(bus.ConfigDir, "dconf", "user"))
				if bytes.Contains(db, []byte("autoconfig-url")) && !bytes.Contains(dbBefore, []byte("autoconfig-url")) {
					t.Errorf("Restore wrote the default autoconfig-url into dconf instead of resetting it")
				}
			}
		})
	}
}

// TestGNOMEUnavailableWithoutASessionBus: dconf saves through the session bus; without
// one, GNOME's settings are not offered (GLib would try to start a bus of its own).
func TestGNOMEUnavailableWithoutASessionBus(t *testing.T) {
	privateBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if err := (gnome{}).Available(testCtx(t)); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "session bus") {
		t.Fatalf("Available without a bus = %v; want ErrUnavailable naming the session bus", err)
	}
}

// TestKDEApplyAndRestoreExactly runs the real kwriteconfig (Debian's libkf5config-bin)
// on a kioslaverc in a temporary XDG_CONFIG_HOME.
func TestKDEApplyAndRestoreExactly(t *testing.T) {
	k := kde{}
	w, _, err := k.tools()
	if err != nil {
		t.Skip(err)
	}
	ctx := testCtx(t)
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	file := filepath.Join(cfg, "kioslaverc")
	// What a user's file looks like: another group, a manual proxy, no script.
	for _, kv := range [][]string{
		{"--group", "Cookie Policy", "--key", "CookieGlobalAdvice", "Accept"},
		{"--group", "Proxy Settings", "--key", "ProxyType", "1"},
		{"--group", "Proxy Settings", "--key", "httpsProxy", "http://corp-proxy.example 3128"},
	} {
		if out, err := exec.Command(w, append([]string{"--file", "kioslaverc"}, kv...)...).CombinedOutput(); err != nil {
			t.Fatalf("kwriteconfig: %v: %s", err, out)
		}
	}
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := k.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(ctx, target); err != nil {
		t.Fatal(err)
	}
	during, _ := os.ReadFile(file)
	for _, want := range []string{"ProxyType=2\n", "Proxy Config Script=http://127.0.0.1:8118/proxy.pac\n", "httpsProxy=http://corp-proxy.example 3128\n", "CookieGlobalAdvice=Accept\n"} {
		if !strings.Contains(string(during), want) {
			t.Errorf("kioslaverc after Apply lacks %q:\n%s", want, during)
		}
	}
	if st, err := k.Current(ctx, target); err != nil || !st.PointsAt {
		t.Errorf("Current after Apply = %+v, %v", st, err)
	}
	if err := k.Restore(ctx, prev); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(file)
	if !bytes.Equal(after, before) {
		t.Errorf("kioslaverc after Restore:\n%s\nwant, as before:\n%s", after, before)
	}
}

// TestKDEWithNoFileBefore: where there was no kioslaverc, none is left.
func TestKDEWithNoFileBefore(t *testing.T) {
	k := kde{}
	if _, _, err := k.tools(); err != nil {
		t.Skip(err)
	}
	ctx := testCtx(t)
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	prev, err := k.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(ctx, target); err != nil {
		t.Fatal(err)
	}
	if err := k.Restore(ctx, prev); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(cfg, "kioslaverc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Restore, kioslaverc is %q (%v); there was none before", b, err)
	}
}

func TestKDEUnavailableWithoutKwriteconfig(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if err := (kde{}).Available(testCtx(t)); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "kwriteconfig") {
		t.Fatalf("Available with no kwriteconfig = %v", err)
	}
}

func TestEnvironmentApplyAndRestoreExactly(t *testing.T) {
	ctx := testCtx(t)
	e := environment{}
	for _, name := range []string{"no file before", "a file of the user's at that path"} {
		t.Run(name, func(t *testing.T) {
			cfg := t.TempDir()
			t.Setenv("XDG_CONFIG_HOME", cfg)
			file := filepath.Join(cfg, "environment.d", envFileName)
			var before []byte
			if name != "no file before" {
				before = []byte("EDITOR=vi\n# the user's own\n")
				os.MkdirAll(filepath.Dir(file), 0o755)
				if err := os.WriteFile(file, before, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			prev, err := e.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Apply(ctx, target); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(file)
			if !strings.Contains(string(got), "\nhttps_proxy=http://127.0.0.1:8118\n") || !strings.Contains(string(got), "\nno_proxy=localhost,127.0.0.1,::1\n") {
				t.Errorf("environment.d file after Apply:\n%s", got)
			}
			if st, err := e.Current(ctx, target); err != nil || !st.PointsAt {
				t.Errorf("Current after Apply = %+v, %v", st, err)
			}
			if err := e.Restore(ctx, prev); err != nil {
				t.Fatal(err)
			}
			after, err := os.ReadFile(file)
			if before == nil {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the file is still there after Restore: %q, %v", after, err)
				}
				return
			}
			fi, _ := os.Stat(file)
			if !bytes.Equal(after, before) || fi.Mode().Perm() != 0o600 {
				t.Errorf("after Restore: %q mode %v; want %q mode 0600", after, fi.Mode().Perm(), before)
			}
		})
	}
}

func TestApplyRefusesATargetOffLoopback(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, m := range Mechanisms() {
		if err := m.Apply(testCtx(t), TargetFor("192.0.2.1:8118")); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: Apply to 192.0.2.1 = %v; want refused", m.ID(), err)
		}
	}
}
