// Package sessionbus starts a private D-Bus session bus for a test, with config and
// runtime dirs of its own: dconf (GNOME's settings) started on it keeps its database
// there, never in the user's ~/.config, and two tests never share one.
package sessionbus

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ErrMissing says dbus-daemon is not installed; callers skip their tests with it.
var ErrMissing = errors.New("dbus-daemon is not installed (scripts/deps.sh test installs dbus)")

// Bus is a running private session bus.
type Bus struct {
	Address    string // for DBUS_SESSION_BUS_ADDRESS
	ConfigDir  string // XDG_CONFIG_HOME of the bus and its services (dconf's database is under it)
	RuntimeDir string // XDG_RUNTIME_DIR of the bus and its services
	cmd        *exec.Cmd
}

// dconfService is the D-Bus service file of dconf (Debian's dconf-service).
const dconfService = "/usr/share/dbus-1/services/ca.desrt.dconf.service"

// busConfig is a session bus that can start dconf and nothing else: no keyring (a
// test's app keeps its key in a file, as in the other end-to-end tests, instead of
// meeting a locked gnome-keyring), no portal, no systemd.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path=%s</listen>
  <servicedir>%s</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// Start starts dbus-daemon on a socket under dir (a path socket, not an abstract one,
// so that processes in other network namespaces reach it too) and returns once it
// accepts clients (at most 20 s). It can start dconf's service, with dir/config as
// XDG_CONFIG_HOME and dir/run as XDG_RUNTIME_DIR, and no other.
func Start(dir string) (*Bus, error) {
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		return nil, ErrMissing
	}
	b := &Bus{ConfigDir: filepath.Join(dir, "config"), RuntimeDir: filepath.Join(dir, "run")}
	for _, d := range []string{b.ConfigDir, b.RuntimeDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("failed to create %q: %w", d, err)
		}
	}
	services := filepath.Join(dir, "services")
	if err := os.MkdirAll(services, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create %q: %w", services, err)
	}
	if svc, err := os.ReadFile(dconfService); err == nil {
		if err := os.WriteFile(filepath.Join(services, filepath.Base(dconfService)), svc, 0o600); err != nil {
			return nil, fmt.Errorf("failed to copy %q: %w", dconfService, err)
		}
	}
	sock := filepath.Join(b.RuntimeDir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock, services), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write %q: %w", conf, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(withoutBus(os.Environ()), "XDG_CONFIG_HOME="+b.ConfigDir, "XDG_RUNTIME_DIR="+b.RuntimeDir)
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("failed to start dbus-daemon: %w", err)
	}
	w.Close()
	line := make(chan string, 1)
	go func() { // ends when the daemon prints its address or exits (closing the pipe)
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, errors.New("failed to start dbus-daemon: it printed no address")
		}
		b.Address, b.cmd = addr, cmd
		return b, nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("failed to start dbus-daemon: no address after 20 s")
	}
}

// Env is what a client of the bus needs in its environment: the bus, the same config
// and runtime dirs as its services (dconf's clients read the database file directly),
// and GSettings' dconf backend.
func (b *Bus) Env() []string {
	return []string{"DBUS_SESSION_BUS_ADDRESS=" + b.Address, "XDG_CONFIG_HOME=" + b.ConfigDir,
		"XDG_RUNTIME_DIR=" + b.RuntimeDir, "GSETTINGS_BACKEND=dconf"}
}

// Environ is os.Environ with Env in place of the session's own.
func (b *Bus) Environ() []string {
	var out []string
	for _, e := range withoutBus(os.Environ()) {
		if !strings.HasPrefix(e, "XDG_CONFIG_HOME=") && !strings.HasPrefix(e, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(e, "GSETTINGS_BACKEND=") {
			out = append(out, e)
		}
	}
	return append(out, b.Env()...)
}

// Stop ends the bus; the services it started (dconf-service) end with it, as they
// lose their connection.
func (b *Bus) Stop() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
}

func withoutBus(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "DBUS_SESSION_BUS_ADDRESS=") {
			out = append(out, e)
		}
	}
	return out
}

// ForTest starts a private bus for t in a temporary dir and points this process at it
// (t.Setenv: the test must not be parallel), stopping it at the test's end. It skips
// t when dbus-daemon, gsettings or dconf's service is not installed, naming the
// packages.
func ForTest(t testing.TB) *Bus {
	t.Helper()
	for _, bin := range []string{"gsettings", "/usr/libexec/dconf-service"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh test installs libglib2.0-bin, dconf-service, dconf-gsettings-backend, gsettings-desktop-schemas)", bin)
		}
	}
	b, err := Start(t.TempDir())
	if errors.Is(err, ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	for _, kv := range b.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return b
}
