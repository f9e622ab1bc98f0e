package ui

import (
	"bytes"
	"testing"
	"time"
)

// The teardown guard: a loop that ends, before or after the quit, is left alone; one
// that does not end within the bound of the quit gets stuck called, with the stacks.
// Fyne's race cannot be made to happen on demand in a test (a patched Fyne showed it,
// see teardown.go), so the loop here is two channels.
func TestWatchTeardown(t *testing.T) {
	run := func(quit, end bool, bound time.Duration) (stuck []byte, returned bool) {
		quitting, ended := make(chan struct{}), make(chan struct{})
		got := make(chan []byte, 1)
		done := make(chan struct{})
		go func() { // ends when watchTeardown returns
			defer close(done)
			watchTeardown(quitting, ended, bound, func(s []byte) { got <- s })
		}()
		if quit {
			close(quitting)
		}
		if end {
			close(ended)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			return nil, false
		}
		select {
		case s := <-got:
			return s, true
		default:
			return nil, true
		}
	}
	if s, ok := run(false, true, time.Hour); !ok || s != nil {
		t.Errorf("loop ended without a quit: returned %v, stuck called %v", ok, s != nil)
	}
	if s, ok := run(true, true, time.Hour); !ok || s != nil {
		t.Errorf("loop ended after the quit: returned %v, stuck called %v", ok, s != nil)
	}
	s, ok := run(true, false, time.Millisecond)
	if !ok || s == nil {
		t.Fatalf("loop never ended after the quit: returned %v, stuck called %v", ok, s != nil)
	}
	if !bytes.Contains(s, []byte("watchTeardown")) {
		t.Errorf("stuck got no goroutine stacks:\n%.400s", s)
	}
}

// Each way the app is asked to quit raises what the guard waits on: Quit (the tray's
// menu, the keyring dialog), a signal, and, with no tray, closing the window.
func TestQuitRaisesQuitting(t *testing.T) {
	for _, tc := range []struct {
		name string
		quit func(u *UI)
	}{
		{"Quit", func(u *UI) { u.Quit() }},
		{"signal", func(u *UI) { u.QuitFromSignal(); waitIdle(t, u) }},
		{"window closed", func(u *UI) { u.win.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := newTestUI(t, newStoreBackend(t))
			select {
			case <-u.quitting.ch:
				t.Fatal("raised before any quit")
			default:
			}
			tc.quit(u)
			select {
			case <-u.quitting.ch:
			default:
				t.Fatalf("%s did not raise the quit", tc.name)
			}
		})
	}
}
