package ui

import (
	"testing"
	"time"
)

// TestTrayHintOnce: the first close of the window says, in a notification, that
// Convergence goes on in the tray; later closes say nothing.
func TestTrayHintOnce(t *testing.T) {
	b := newStoreBackend(t)
	u, rec := newTestUI(t, b)
	u.hideToTray()
	select {
	case n := <-rec.ch:
		if n != trayHint {
			t.Fatalf("hint %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no hint at the first close")
	}
	if !u.app.Preferences().Bool(trayHintKey) {
		t.Error("the hint was not recorded")
	}
	u.Show()
	u.hideToTray()
	u.Show()
	u.hideToTray()
	waitIdle(t, u)
	u.Close() // waits for the sender
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.sent)+len(u.notifyCh) != 1 {
		t.Errorf("%d notifications for three closes, want the one hint", len(rec.sent))
	}
}
