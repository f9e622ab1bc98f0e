package ui

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// childEnv marks the re-executed test process.
const childEnv = "CONVERGENCE_UI_TEST_CHILD"

// TestMain re-executes the test binary with XDG_CONFIG_HOME set to a fresh temporary
// folder: go-autostart reads it once, at package init, before any test could set it,
// and the autostart test must not touch the user's real ~/.config/autostart.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "convergence-ui-test-")
	if err != nil {
		os.Stderr.WriteString("failed to create a config dir: " + err.Error() + "\n")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	// LANG: fyne logs an error for the C locale.
	// XDG_CACHE_HOME: the notification icon is written there (notifyIcon).
	cmd.Env = append(os.Environ(), childEnv+"=1", "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir, "LANG=en_US.UTF-8", "LC_ALL=en_US.UTF-8")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	os.RemoveAll(dir)
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		os.Stderr.WriteString("failed to run the tests: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Exit(0)
}

// queues holds each test UI's queue of UI code (*UI -> chan func()).
var queues sync.Map

// recorder is a notifier that keeps what it was asked to show.
type recorder struct {
	mu   sync.Mutex // protects sent
	sent []notification
	ch   chan notification
}

func newRecorder() *recorder { return &recorder{ch: make(chan notification, 64)} }

func (r *recorder) notify(n notification) error {
	r.mu.Lock()
	r.sent = append(r.sent, n)
	r.mu.Unlock()
	r.ch <- n
	return nil
}

// newTestUI builds the UI on fyne's test app over b and waits for its first load.
func newTestUI(t testing.TB, b Backend) (*UI, *recorder) {
	t.Helper()
	rec := newRecorder()
	return newTestUIWith(t, b, func(fyne.App) notifier { return rec }), rec
}

// newTestUIWith is newTestUI with the notifier mk makes for the test app.
func newTestUIWith(t testing.TB, b Backend, mk func(fyne.App) notifier) *UI {
	t.Helper()
	u := newHiddenTestUI(t, b, mk)
	u.win.Resize(fyne.NewSize(1000, 800))
	u.Show()
	waitIdle(t, u)
	return u
}

// newHiddenTestUI builds the UI as the app does at a start in the tray: window not shown.
func newHiddenTestUI(t testing.TB, b Backend, mk func(fyne.App) notifier) *UI {
	t.Helper()
	a := test.NewTempApp(t)
	n := mk(a)
	// UI code runs on the test's goroutine, as it runs on fyne's main goroutine in the
	// app: background work hands it over through the queue that waitIdle drains.
	queue := make(chan func(), 64)
	stop := make(chan struct{})
	u := newUI(a, b, Options{}, n, func(fn func()) {
		select {
		case queue <- fn:
		case <-stop:
		}
	})
	queues.Store(u, queue)
	t.Cleanup(func() { queues.Delete(u) })
	t.Cleanup(func() { close(stop) }) // runs before u.Close: cleanups run last first
	t.Cleanup(u.Close)
	waitIdle(t, u)
	return u
}

// waitIdle runs the UI code that background work hands over, on the test's
// goroutine, until no work is in flight; at most 20 s.
func waitIdle(t testing.TB, u *UI) {
	t.Helper()
	done := make(chan struct{})
	go func() { // ends when the tasks in flight end
		u.tasks.Wait()
		close(done)
	}()
	v, _ := queues.Load(u)
	queue := v.(chan func())
	deadline := time.After(20 * time.Second)
	for {
		select {
		case fn := <-queue:
			fn()
		case <-done:
			for { // what was queued outside tasks (refreshes, timers)
				select {
				case fn := <-queue:
					fn()
				default:
					return
				}
			}
		case <-deadline:
			t.Fatal("background work did not finish in 20 s")
		}
	}
}

// walk calls f on o and every visible object below it, depth first.
func walk(o fyne.CanvasObject, f func(fyne.CanvasObject) bool) bool {
	if o == nil || !o.Visible() {
		return false
	}
	if f(o) {
		return true
	}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			if walk(c, f) {
				return true
			}
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			if walk(c, f) {
				return true
			}
		}
	}
	return false
}

// roots returns the canvas's overlays, topmost first, then its content.
func roots(w fyne.Window) []fyne.CanvasObject {
	ov := w.Canvas().Overlays().List()
	var out []fyne.CanvasObject
	for i := len(ov) - 1; i >= 0; i-- {
		out = append(out, ov[i])
	}
	return append(out, w.Canvas().Content())
}

// find returns the first visible object in the window (topmost dialog first) for
// which match is true, or nil.
func find[T fyne.CanvasObject](w fyne.Window, match func(T) bool) T {
	var found T
	for _, r := range roots(w) {
		if walk(r, func(o fyne.CanvasObject) bool {
			if x, ok := o.(T); ok && match(x) {
				found = x
				return true
			}
			return false
		}) {
			break
		}
	}
	return found
}

// button finds a visible, enabled button by its text, or fails the test.
func button(t *testing.T, w fyne.Window, text string) *widget.Button {
	t.Helper()
	b := find(w, func(b *widget.Button) bool { return b.Text == text && !b.Disabled() })
	if b == nil {
		t.Fatalf("no enabled button %q on screen; labels: %s", text, visibleText(w))
	}
	return b
}

// tap taps the button with this text and waits for the work it starts.
func tap(t *testing.T, u *UI, text string) {
	t.Helper()
	test.Tap(button(t, u.win, text))
	waitIdle(t, u)
}

// hasText reports whether a visible label or rich text in the window contains s.
func hasText(w fyne.Window, s string) bool {
	return strings.Contains(visibleText(w), s)
}

// visibleText joins the text of every visible label and button, for messages.
func visibleText(w fyne.Window) string {
	var parts []string
	for _, r := range roots(w) {
		walk(r, func(o fyne.CanvasObject) bool {
			switch x := o.(type) {
			case *widget.Label:
				parts = append(parts, x.Text)
			case *widget.Button:
				parts = append(parts, "["+x.Text+"]")
			case *widget.Check:
				parts = append(parts, "<"+x.Text+">")
			case *widget.RadioGroup:
				parts = append(parts, "("+strings.Join(x.Options, " / ")+")")
			}
			return false
		})
	}
	return strings.Join(parts, " | ")
}

// selectTab shows the named tab.
func selectTab(t *testing.T, u *UI, name string) {
	t.Helper()
	for _, it := range u.tabs.Items {
		if it.Text == name {
			u.tabs.Select(it)
			waitIdle(t, u)
			return
		}
	}
	t.Fatalf("no tab %q", name)
}
