package ui

import (
	"context"
	"sync"

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
