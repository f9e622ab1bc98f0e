package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/internal/testsupport/dbusmenu"
	"github.com/convergence-ng/convergence/internal/testsupport/xvfb"
)

// TestDesktopSecondStartShowsTheFirst runs the real app as it starts at login (in the
// tray, no window) and uses its tray menu, then starts it again as a user would from the
// app menu: the second start must not run a second proxy on the same data dir, but show
// the first one's window and end. A third start at login ends quietly. It needs a session bus (make
// test gives one), Xvfb and xwininfo; it does not need root.
func TestDesktopSecondStartShowsTheFirst(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus: run under dbus-run-session (make test does)")
	}
	if _, err := exec.LookPath("xwininfo"); err != nil {
		t.Skip("xwininfo is not installed (scripts/deps.sh test installs x11-utils)")
	}
	d, err := xvfb.Start()
	if errors.Is(err, xvfb.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()

	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	env := append(os.Environ(), "DISPLAY="+d.Name, "LANG=en_US.UTF-8",
		"XDG_CONFIG_HOME="+filepath.Join(tmp, "config"), "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
	addr := freeLoopbackAddr(t)

	first := startApp(t, env, filepath.Join(tmp, "first.log"), "--data-dir", data, "--listen", addr, "--background")
	waitPAC(t, addr, first)
	if shown, err := d.Shown("Convergence"); err != nil || shown {
		t.Fatalf("started in the tray, the app shows a window (%v, %v)", shown, err)
	}

	// In the tray alone the app does not run Fyne's loop (it wakes 60 times a second);
	// the tray must work all the same: a click reaches the app and the menu is rebuilt.
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	item := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", first.cmd.Process.Pid)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := dbusmenu.WaitFor(ctx, conn, item, func(l []string) bool { return slices.Contains(l, "Pause until I resume") }); err != nil {
		t.Fatal(err)
	}
	if err := dbusmenu.Click(ctx, conn, item, "Pause until I resume"); err != nil {
		t.Fatal(err)
	}
	if _, err := dbusmenu.WaitFor(ctx, conn, item, func(l []string) bool { return slices.Contains(l, "Resume protection") }); err != nil {
		t.Fatalf("after a click on Pause in the tray: %v", err)
	}

	second := startAgain(t, env, data)
	if second.err != nil || !strings.Contains(second.out, "already running") {
		t.Fatalf("second start: %v\n%s", second.err, second.out)
	}
	shown := false
	for range 100 { // about 10 s
		if shown, _ = d.Shown("Convergence"); shown {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !shown {
		t.Fatal("the second start did not bring the first one's window up within 10 s")
	}

	third := startAgain(t, env, data, "--background")
	if third.err != nil || strings.Contains(third.out, "brought to the front") {
		t.Fatalf("a start at login while running: %v\n%s", third.err, third.out)
	}

	// The first app still serves, and quits cleanly on SIGTERM.
	waitPAC(t, addr, first)
	first.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-first.done:
		if first.err != nil {
			t.Fatalf("the app exited with %v after SIGTERM\n%s", first.err, first.log())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the app did not quit within 15 s of SIGTERM\n%s", first.log())
	}
}

// running is an app process started by startApp.
type running struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // its exit; read after done is closed
}

func (r *running) log() string {
	b, _ := os.ReadFile(r.logPath)
	return string(b)
}

// startApp starts the app with its output in logPath; the test kills it at its end if
// it still runs.
func startApp(t *testing.T, env []string, logPath string, args ...string) *running {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own copy
	r := &running{cmd: exec.Command(bins.app, args...), logPath: logPath, done: make(chan struct{})}
	r.cmd.Env, r.cmd.Stdout, r.cmd.Stderr = env, f, f
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // ends when the process exits; the cleanup below kills it at worst
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

type startResult struct {
	out string
	err error
}

// startAgain runs the app on data once more, for at most 30 s.
func startAgain(t *testing.T, env []string, data string, args ...string) startResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.app, append([]string{"--data-dir", data}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return startResult{string(out), err}
}

// freeLoopbackAddr returns a loopback address with a port nothing listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitPAC waits until the app's proxy serves its PAC file: at most about 30 s (a first
// start makes the local CA and the store).
func waitPAC(t *testing.T, addr string, app *running) {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	for range 60 {
		select {
		case <-app.done:
			t.Fatalf("the app exited (%v) before its proxy answered\n%s", app.err, app.log())
		default:
		}
		resp, err := client.Get("http://" + addr + "/proxy.pac")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the app's proxy did not answer on %s within 30 s\n%s", addr, app.log())
}
