package settings

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// childSecretsReport is what the open-secrets child prints, as JSON on one line.
type childSecretsReport struct {
	Fallback bool
	Err      string
	Hint     string
	SetErr   string
	Got      string // the secret read back after Set
}

// runOpenSecretsChild calls the real OpenSecrets (real go-keyring, the session bus
// from DBUS_SESSION_BUS_ADDRESS) and stores a secret through what it got.
func runOpenSecretsChild(dir string) {
	s, fb := OpenSecrets(dir)
	var r childSecretsReport
	if fb != nil {
		r.Fallback, r.Err, r.Hint = true, fb.Err.Error(), fb.Hint
	}
	if err := s.Set("ca-key", []byte("child key")); err != nil {
		r.SetErr = err.Error()
	}
	got, err := s.Get("ca-key")
	if err != nil {
		r.SetErr += " get: " + err.Error()
	}
	r.Got = string(got)
	b, _ := json.Marshal(r)
	fmt.Println("REPORT " + string(b))
	os.Exit(0)
}

// privateBus starts a dbus-daemon of our own with no service files, so nothing can
// be activated on it, and returns its address. It ends with the test.
func privateBus(t *testing.T, ctx context.Context) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("no dbus-daemon: install dbus to run this test")
	}
	dir, err := os.MkdirTemp("", "bus") // short: unix socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+dir+`</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, daemon, "--config-file="+conf, "--print-address=1", "--nofork")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() { // ends when the daemon's stdout closes
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			addr <- strings.TrimSpace(sc.Text())
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok || a == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return a
	case <-ctx.Done():
		t.Fatal("dbus-daemon did not start")
	}
	return ""
}

func readReport(t *testing.T, ctx context.Context, cmd *exec.Cmd, lines <-chan string) childSecretsReport {
	t.Helper()
	line := waitLine(t, ctx, lines, "REPORT ")
	cmd.Wait()
	var r childSecretsReport
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "REPORT ")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOpenSecretsRealBusWithoutSecretService runs the real go-keyring against a real
// session bus on which no Secret Service exists.
func TestOpenSecretsRealBusWithoutSecretService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := privateBus(t, ctx)
	dir := t.TempDir()
	cmd, lines := child(t, ctx, "opensecrets", dir, "DBUS_SESSION_BUS_ADDRESS="+addr)
	r := readReport(t, ctx, cmd, lines)
	t.Logf("child report: %+v", r)
	if !r.Fallback {
		t.Fatal("no fallback without a Secret Service")
	}
	if !strings.Contains(r.Hint, "no keyring program is running (no Secret Service)") || !strings.Contains(r.Hint, filepath.Join(dir, "secrets")) {
		t.Errorf("hint %q does not name the fix and the folder", r.Hint)
	}
	if r.SetErr != "" {
		t.Fatalf("Set through the fallback: %s", r.SetErr)
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets", "ca-key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("fallback file: %v, %v; want mode 0600", fi, err)
	}
}

// TestOpenSecretsRealBusNoBus runs the real go-keyring with no session bus at all.
func TestOpenSecretsRealBusNoBus(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(dir string) []string
	}{
		// An address where nothing listens.
		{"dead address", func(dir string) []string {
			return []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "no-bus")}
		}},
		// No address, no $XDG_RUNTIME_DIR/bus, no dbus-launch to start a bus with.
		{"no address", func(dir string) []string {
			return []string{"DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=" + dir, "PATH=" + dir}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dir := t.TempDir()
			cmd, lines := child(t, ctx, "opensecrets", dir, tc.env(dir)...)
			r := readReport(t, ctx, cmd, lines)
			t.Logf("child report: %+v", r)
			if !r.Fallback || !strings.Contains(r.Hint, "started outside a desktop session") || r.SetErr != "" {
				t.Fatalf("report %+v: want a fallback that works, with the no-bus hint", r)
			}
		})
	}
}

// gnomeKeyring starts gnome-keyring-daemon's Secret Service on the bus at addr, with
// a keyring folder of its own, unlocked (a login keyring made with a password) or
// not, and waits until it owns its name on the bus. It ends with the test.
func gnomeKeyring(t *testing.T, ctx context.Context, addr string, unlock bool) {
	t.Helper()
	bin, err := exec.LookPath("gnome-keyring-daemon")
	if err != nil {
		t.Skip("no gnome-keyring-daemon: install gnome-keyring to run this test")
	}
	dir := t.TempDir()
	args := []string{"--foreground", "--components=secrets"}
	if unlock {
		args = append(args, "--unlock")
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr, "XDG_DATA_HOME="+dir, "XDG_RUNTIME_DIR="+dir)
	if unlock {
		cmd.Stdin = strings.NewReader("test password")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; ; i++ { // bounded by ctx
		var has bool
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has)
		if err == nil && has {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gnome-keyring-daemon did not take its name on the bus: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestOpenSecretsRealGnomeKeyring drives the real go-keyring against a real
// gnome-keyring-daemon: locked (no login keyring, nobody to type a password) it falls
// back to files with the "locked" hint; unlocked it is used and no file is written.
func TestOpenSecretsRealGnomeKeyring(t *testing.T) {
	for _, tc := range []struct {
		name     string
		unlock   bool
		fallback bool
	}{{"locked", false, true}, {"unlocked", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			addr := privateBus(t, ctx)
			gnomeKeyring(t, ctx, addr, tc.unlock)
			dir := t.TempDir()
			cmd, lines := child(t, ctx, "opensecrets", dir, "DBUS_SESSION_BUS_ADDRESS="+addr)
			r := readReport(t, ctx, cmd, lines)
			t.Logf("child report: %+v", r)
			if r.Fallback != tc.fallback || r.SetErr != "" || r.Got != "child key" {
				t.Fatalf("report %+v: want fallback %v and a working Set", r, tc.fallback)
			}
			_, err := os.Stat(filepath.Join(dir, "secrets", "ca-key"))
			if tc.fallback {
				if !strings.Contains(r.Hint, "the keyring is locked") || err != nil {
					t.Errorf("hint %q, file %v: want the locked hint and the key in a file", r.Hint, err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a working keyring still wrote a file: %v", err)
			}
		})
	}
}
