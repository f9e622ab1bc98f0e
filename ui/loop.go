package ui

import (
	"context"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
)

// trayLoop runs the UI goroutine's work while the app shows only its tray, so that
// Fyne's loop need not run then. Fyne's loop wakes its thread 60 times a second, window
// or not: about 2% of a core here (/proc/PID/stat over 20 s), all day, for an app that
// sits in the tray. Until a window must be shown, the main goroutine runs the work
// itself (RunInTray); from then on the work goes to fyne.Do and Fyne's loop runs it.
type trayLoop struct {
	mu      sync.Mutex // protects the fields below
	fyne    bool       // work goes to fyne.Do: Fyne's loop runs, or is about to
	quit    bool       // Quit was asked before Fyne's loop ran
	ended   bool       // the app's loop has ended: work is dropped (Ended)
	pending []func()
	wake    chan struct{} // holds a token when pending has work or quit is set
}

// newTrayLoop returns a loop that keeps the work itself (inTray) or hands it to fyne.Do.
func newTrayLoop(inTray bool) *trayLoop {
	return &trayLoop{fyne: !inTray, wake: make(chan struct{}, 1)}
}

// do runs f on the UI goroutine: later, by RunInTray or by Fyne's loop. It never blocks.
func (l *trayLoop) do(f func()) {
	l.mu.Lock()
	ended := l.ended
	l.mu.Unlock()
	if !ended {
		l.dispatch(f)
	}
}

// end makes do drop all later work (UI.Ended).
func (l *trayLoop) end() {
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
}

// dispatch is do without the check for the end: for the Quit that a signal asks for.
func (l *trayLoop) dispatch(f func()) {
	l.mu.Lock()
	if l.fyne {
		l.mu.Unlock()
		fyne.Do(f)
		return
	}
	l.pending = append(l.pending, f)
	l.mu.Unlock()
	l.signal()
}

func (l *trayLoop) signal() {
	select {
	case l.wake <- struct{}{}:
	default: // a token is there already
	}
}

// inTray reports whether the loop still runs the work itself.
func (l *trayLoop) inTray() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.fyne
}

// handOver sends all later work to fyne.Do; the caller starts Fyne's loop next.
func (l *trayLoop) handOver() {
	l.mu.Lock()
	l.fyne = true
	l.mu.Unlock()
}

// stop makes run return false.
func (l *trayLoop) stop() {
	l.mu.Lock()
	l.quit = true
	l.mu.Unlock()
	l.signal()
}

// run runs the work as it comes until the work hands over to Fyne (true) or the app is to
// end (false: stop, or ctx done). Work still pending when it returns false is dropped:
// the app is ending.
func (l *trayLoop) run(ctx context.Context) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-l.wake:
		}
		for {
			l.mu.Lock()
			if l.quit {
				l.mu.Unlock()
				return false
			}
			if len(l.pending) == 0 {
				handed := l.fyne
				l.mu.Unlock()
				if handed {
					return true
				}
				break
			}
			f := l.pending[0]
			l.pending = l.pending[1:]
			l.mu.Unlock()
			f()
		}
	}
}

// hideWindows hides every window, so that Fyne's loop, stopped next, ends with none shown.
// Fyne's settings watchers outlive its loop: app.Run starts them, and only the app's Quit
// (which UI.Quit avoids, see there) stops the file's; nothing stops the desktop portal's.
// A change they report after the loop ended (a theme switch, the settings file written or
// its folder removed) is applied at once on the watcher's goroutine (fyne v2.7.1
// internal/driver/glfw/loop.go:43), and for a shown window the driver's settings listener
// asks GLFW, terminated by then, for the monitor's scale: a panic, "GLFW library is not
// initialized" (loop.go:119, canvas.go:180). For a hidden window it asks nothing
// (canvas.go:176). Call it on the UI goroutine; once the loop has ended it does nothing, as
// hiding would itself call the terminated GLFW.
func hideWindows(a fyne.App) {
	if fyneLoopEnded() {
		return
	}
	for _, w := range a.Driver().AllWindows() {
		w.Hide()
	}
}

// fyneLoopEnded reports whether Fyne's loop has ended (or not started): fyne.Do then runs
// its function at once, on the caller's goroutine, instead of queueing it for the loop
// (loop.go:43). On the loop, the probe is queued and runs later, doing nothing that
// matters. Call it on the UI goroutine: elsewhere the loop may run the probe before it
// is read.
func fyneLoopEnded() bool {
	var ran atomic.Bool
	fyne.Do(func() { ran.Store(true) })
	return ran.Load()
}
