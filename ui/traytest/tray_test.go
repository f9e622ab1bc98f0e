package traytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/internal/testsupport/dbusmenu"
	"github.com/convergence-ng/convergence/internal/testsupport/xvfb"
	"github.com/convergence-ng/convergence/ui"
	"github.com/convergence-ng/convergence/verifier"
)

// The app under test, run by TestMain on the main goroutine (GLFW needs it).
var (
	skipReason string
	backend    *trayBackend // the real application, opened by run
	theUI      *ui.UI
	items      = make(chan string, 8) // unique bus names that registered a tray item

	display *xvfb.Display // the app's private X display

	registered     sync.Once // reads the first registration from items
	registeredName string    // the tray's unique bus name; set by registered
)

// watcher plays org.kde.StatusNotifierWatcher, the desktop shell's side of the tray.
type watcher struct{}

// RegisterStatusNotifierItem implements the watcher method items call to appear.
func (watcher) RegisterStatusNotifierItem(sender dbus.Sender, _ string) *dbus.Error {
	items <- string(sender)
	return nil
}

// RegisterStatusNotifierHost implements the watcher method hosts call; unused here.
func (watcher) RegisterStatusNotifierHost(dbus.Sender, string) *dbus.Error { return nil }

// dirEnv names the temporary dir that holds the app's config and cache folders; set, it
// also says that this process is the one that runs the app (see runChild).
const dirEnv = "CONVERGENCE_TRAYTEST_DIR"

// TestMain runs the real Fyne app (GLFW driver, fyne's systray) with the tray on the
// session bus, under a private Xvfb display, while the tests run on other goroutines.
// It skips (every test) without a session bus (make test provides one with
// dbus-run-session) or without Xvfb.
func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "traytest:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		skipReason = "no session bus: run under dbus-run-session (make test does)"
		return m.Run(), nil
	}
	dir := os.Getenv(dirEnv)
	if dir == "" {
		return runChild()
	}
	d, err := xvfb.Start()
	if errors.Is(err, xvfb.ErrMissing) {
		skipReason = err.Error()
		return m.Run(), nil
	}
	if err != nil {
		return 0, err
	}
	defer d.Stop()
	display = d
	os.Setenv("DISPLAY", d.Name)

	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return 0, fmt.Errorf("failed to connect to the session bus: %w", err)
	}
	defer conn.Close()
	if err := conn.Export(watcher{}, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		return 0, err
	}
	if r, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		skipReason = fmt.Sprintf("cannot own org.kde.StatusNotifierWatcher (%v, %v): a desktop shell runs on this bus", r, err)
		return m.Run(), nil
	}

	if backend, err = openBackend(filepath.Join(dir, "data")); err != nil {
		return 0, err
	}
	defer backend.Close()
	a := app.NewWithID("org.convergence.desktop.traytest")
	theUI = ui.New(a, backend, ui.Options{Tray: true})
	code := 0
	go func() { // ends when the tests end; then it quits the app
		code = m.Run()
		fyne.Do(theUI.Quit)
	}()
	a.Run()
	theUI.Close()
	if err := changeSettingsLate(a, dir); err != nil {
		return 0, err
	}
	return code, nil
}

// runChild runs this test binary again, with the same flags, in a process whose config
// and cache folders are in a temporary dir, and removes the dir once that process has
// ended. Fyne's watchers on those folders (settings, preferences) run until the process
// ends, and they make again a watched folder that was removed: removed from inside the
// process, the dir came back (each run left one in /tmp), and the settings watcher
// applied the removal to a window after Fyne's loop had ended, which panicked the test
// binary after its tests passed ("GLFW library is not initialized"; issue 13).
func runChild() (int, error) {
	tmp, err := os.MkdirTemp("", "convergence-traytest-")
	if err != nil {
		return 0, fmt.Errorf("failed to create the test's dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Keep Fyne's and Mesa's files out of the user's folders. Set before the process
	// starts: go-autostart reads XDG_CONFIG_HOME at package init.
	cmd.Env = append(os.Environ(), dirEnv+"="+tmp,
		"XDG_CONFIG_HOME="+tmp+"/config", "XDG_CACHE_HOME="+tmp+"/cache",
		"LANG=en_US.UTF-8", "LC_ALL=en_US.UTF-8")
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return exit.ExitCode(), nil // the child said why
	}
	if err != nil {
		return 0, fmt.Errorf("failed to run the tests in a child process: %w", err)
	}
	return 0, nil
}

// changeSettingsLate changes Fyne's settings file after the loop has ended, as a theme
// switch during the app's teardown does, and returns once Fyne has applied the change
// (or has not, within 3 s, because it does not watch the file).
// The watcher outlives the loop and applies it at once on its own goroutine; a window
// still shown makes that ask the terminated GLFW for its scale, and the process panics
// (UI.Quit hides the windows so that it cannot).
func changeSettingsLate(a fyne.App, dir string) error {
	applied := make(chan fyne.Settings, 2)
	// The channel form, deprecated for AddListener, whose callbacks go through fyne.Do:
	// here the point is what happens once Fyne's loop has ended, told by Fyne itself.
	//lint:ignore SA1019 the channel listener is told by the settings watcher directly
	a.Settings().AddChangeListener(applied)
	next := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(next, []byte(`{"theme":"dark"}`), 0o600); err != nil {
		return fmt.Errorf("failed to write the settings file: %w", err)
	}
	// Off the main goroutine, Fyne logs every widget the change refreshes (thousands of
	// lines, until after this returns); what matters here is that the process lives, and
	// it ends next.
	log.SetOutput(io.Discard)
	// Renamed into place, so that the watcher reads the whole file, once.
	if err := os.Rename(next, filepath.Join(dir, "config", "fyne", "settings.json")); err != nil {
		return fmt.Errorf("failed to move the settings file: %w", err)
	}
	// Fyne watches its settings file only while the app has not set a theme of its own
	// (fyne/v2/app settings_desktop.go, watchSettings); the app sets one (ui/theme.go),
	// so the change may never be applied: the process must live either way. When Fyne
	// does apply it, it applies it twice (as it loads it, then again), telling the
	// change listeners before the windows each time: the second call means that the
	// windows have taken the first.
	select {
	case <-applied:
	case <-time.After(3 * time.Second):
		return nil // not watched: nothing can reach a window
	}
	select {
	case <-applied:
	case <-time.After(10 * time.Second):
		return errors.New("fyne applied the changed settings file once in 10 s after its loop ended; want twice")
	}
	return nil
}

// waitFor reads the tray menu until cond holds on its labels; at most about 30 s (a loaded machine has needed more than 10).
func waitFor(t *testing.T, conn *dbus.Conn, item string, cond func([]string) bool) []dbusmenu.Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := dbusmenu.WaitFor(ctx, conn, item, cond)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func iconPixmap(t *testing.T, conn *dbus.Conn, item string) string {
	t.Helper()
	v, err := conn.Object(item, "/StatusNotifierItem").GetProperty("org.kde.StatusNotifierItem.IconPixmap")
	if err != nil {
		t.Fatalf("IconPixmap: %v", err)
	}
	return fmt.Sprint(v.Value())
}

// trayConn skips without the app (see TestMain), and returns a connection to the
// session bus, closed when the test ends, and the tray's bus name.
func trayConn(t *testing.T) (*dbus.Conn, string) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, itemName(t)
}

// publishAlert hands the UI a disagreement about host, and returns the label the
// tray menu must show for it.
func publishAlert(host string) string {
	now := time.Now()
	theUI.Publish(verifier.Event{Kind: verifier.EventDisagree, Time: now, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: host, Port: 443}, Outcome: verifier.OutcomeRejected,
		Source: verifier.SourceNotaries, Agreed: 1, Asked: 3, Time: now}})
	return host + " blocked: 1 of 3 agreed (" + now.Format("15:04") + ")"
}

// itemName waits for the tray to register with the watcher (once per process; later
// calls return the name it registered with).
func itemName(t *testing.T) string {
	t.Helper()
	registered.Do(func() {
		select {
		case registeredName = <-items:
		case <-time.After(20 * time.Second):
		}
	})
	if registeredName == "" {
		t.Fatal("the tray did not register with the StatusNotifierWatcher within 20 s")
	}
	return registeredName
}

func TestTrayMenuOnDBus(t *testing.T) {
	conn, item := trayConn(t)

	menu := waitFor(t, conn, item, func(l []string) bool { return slices.Contains(l, "Pause for 15 minutes") })
	for _, want := range []string{"Protecting (proxy on 127.0.0.1:8118)", "Open Convergence", "Pause for 15 minutes", "Pause for 1 hour", "Pause until I resume", "Quit"} {
		if !slices.Contains(dbusmenu.Labels(menu), want) {
			t.Errorf("tray menu lacks %q: %q", want, dbusmenu.Labels(menu))
		}
	}
	before := iconPixmap(t, conn, item)

	// Click "Pause for 15 minutes" as a shell does: the backend is paused, the menu and
	// the icon are rebuilt from the new state. A shell re-reads the layout when it
	// changes; so does this test, if a rebuild raced with its click.
	clicked := false
	for attempt := 0; attempt < 5 && !clicked; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := dbusmenu.Click(ctx, conn, item, "Pause for 15 minutes")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-backend.pauses:
			if !p {
				t.Fatal("clicking Pause resumed")
			}
			clicked = true
		case <-time.After(3 * time.Second):
		}
	}
	if !clicked {
		t.Fatal("clicking Pause did not reach the backend in 5 tries")
	}
	if d := <-backend.durations; d != 15*time.Minute {
		t.Fatalf("Pause for 15 minutes paused for %s", d)
	}
	until := backend.Status().PausedUntil
	waitFor(t, conn, item, func(l []string) bool {
		return slices.Contains(l, "Resume protection") && slices.Contains(l, "Protection is paused until "+until.Local().Format("15:04"))
	})
	if after := iconPixmap(t, conn, item); after == before {
		t.Error("the tray icon did not change when protection was paused")
	}

	// An alert appears in the menu.
	want := publishAlert("evil.example")
	waitFor(t, conn, item, func(l []string) bool {
		return slices.Contains(l, "Recent alerts") && slices.Contains(l, want)
	})
}

// TestTrayRebuildsEndTheirGoroutines rebuilds the menu several times and checks that
// the goroutines passing clicks on do not pile up: each rebuild must end the previous
// menu's (the systray library's ResetMenu alone leaves the newest item's running).
func TestTrayRebuildsEndTheirGoroutines(t *testing.T) {
	conn, item := trayConn(t)
	rebuild := func(host string) {
		want := publishAlert(host)
		waitFor(t, conn, item, func(l []string) bool { return slices.Contains(l, want) })
	}
	for i := range 5 { // the menu's most alerts, so its size stays the same from here
		rebuild(fmt.Sprintf("warmup-%d.example", i))
	}
	before := runtime.NumGoroutine()
	for i := range 10 {
		rebuild(fmt.Sprintf("rebuild-%d.example", i))
	}
	// The tray shows at most 5 alerts: the menu's size, and so its goroutines, is the
	// same after the rebuilds as before them. D-Bus calls in flight (notifications) come and
	// go, so the count may take a moment to come back: at most about 5 s.
	after := runtime.NumGoroutine()
	for range 50 {
		if after <= before+2 {
			return
		}
		time.Sleep(100 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	t.Errorf("goroutines grew from %d to %d over 10 tray rebuilds", before, after)
}

// TestTrayIconActivates checks that the tray alone opened no window (no window means
// no OpenGL context: the idle app in the tray does not load the GL stack), that the item
// is not menu-only, and that activating it (a left click in most shells) opens the
// window.
func TestTrayIconActivates(t *testing.T) {
	if _, err := exec.LookPath("xwininfo"); err != nil {
		t.Skip("xwininfo is not installed (scripts/deps.sh test installs x11-utils)")
	}
	conn, item := trayConn(t)
	if wins, err := display.Windows("Convergence"); err != nil || len(wins) != 0 {
		t.Fatalf("with only the tray shown, the app has X windows %v (%v); want none", wins, err)
	}
	obj := conn.Object(item, "/StatusNotifierItem")
	v, err := obj.GetProperty("org.kde.StatusNotifierItem.ItemIsMenu")
	if err != nil {
		t.Fatalf("ItemIsMenu: %v", err)
	}
	if isMenu, _ := v.Value().(bool); isMenu {
		t.Error("ItemIsMenu is true: shells would open the menu on a left click, not the window")
	}
	if err := obj.Call("org.kde.StatusNotifierItem.Activate", 0, int32(0), int32(0)).Err; err != nil {
		t.Fatalf("Activate: %v", err)
	}
	for range 100 { // about 10 s
		if shown, _ := display.Shown("Convergence"); shown {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("activating the tray icon did not show the window within 10 s")
}
