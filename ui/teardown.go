package ui

import (
	"runtime"
	"sync"
	"time"
)

// TeardownBound is how long Fyne's loop may take to return once the app is asked to
// quit before Run gives up on it. It ends in milliseconds; 10 s leaves the rest of
// Quit (the proxy settings put back, the notification) time within the 30 s a session
// manager commonly grants at logout.
const TeardownBound = 10 * time.Second

// quitSignal is closed once the app is asked to quit: Quit, a signal, the window
// closed without a tray. Safe from any goroutine.
type quitSignal struct {
	once sync.Once
	ch   chan struct{}
}

func newQuitSignal() *quitSignal { return &quitSignal{ch: make(chan struct{})} }

func (q *quitSignal) raise() { q.once.Do(func() { close(q.ch) }) }

// Run runs Fyne's loop on the calling goroutine, the main one, until the app quits.
//
// Fyne's teardown can hang after its loop has stopped (fyne v2.7.1,
// internal/driver/glfw/loop.go:132-147): the loop queues the app's stop hook on the
// lifecycle queue, whose goroutine hands it to the main loop and waits; if that hand-off
// lands after the loop's last drain of its queue, nobody answers and app.Run waits for it
// forever (lifecycle.go:116). Under load this hung the app at SIGTERM once (e2e
// TestDesktopSystemProxyNotifications in CI); a build of Fyne with that window widened by
// a sleep hangs at every Quit, with the stacks above, and ends with this guard. When Run
// has not returned within bound of the quit being asked, stuck is called on another
// goroutine with every goroutine's stack; it must end the process.
func (u *UI) Run(bound time.Duration, stuck func(stacks []byte)) {
	ended := make(chan struct{})
	go watchTeardown(u.quitting.ch, ended, bound, stuck) // ends when Run returns, or after stuck
	u.app.Run()
	close(ended)
}

// watchTeardown calls stuck when ended is not closed within bound of quitting being
// closed; it returns when ended is closed, or after stuck.
func watchTeardown(quitting, ended <-chan struct{}, bound time.Duration, stuck func(stacks []byte)) {
	select {
	case <-ended:
		return
	case <-quitting:
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-ended:
	case <-t.C:
		stuck(allStacks())
	}
}

// allStacks returns the stacks of every goroutine, up to 1 MiB.
func allStacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}
