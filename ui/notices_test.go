package ui

import (
	"strings"
	"testing"
)

// TestStartupNoticesShownOnce: what went wrong at start (a database moved aside, no
// keyring) is shown in a dialog at the first Show, with its fix, and only once.
func TestStartupNoticesShownOnce(t *testing.T) {
	u, _ := newTestUI(t, newStoreBackend(t))
	u.opts.Notices = []string{
		"The settings database could not be read; it was moved to /tmp/x.broken and a new one started.",
		"No keyring: unlock gnome-keyring and restart Convergence.",
	}
	before := len(u.win.Canvas().Overlays().List())
	u.Show()
	ov := u.win.Canvas().Overlays().List()
	if len(ov) != before+1 {
		t.Fatalf("overlays %d after Show, want %d (one notice dialog)", len(ov), before+1)
	}
	text := visibleText(u.win)
	for _, want := range []string{"moved to /tmp/x.broken", "unlock gnome-keyring"} {
		if !strings.Contains(text, want) {
			t.Errorf("notice dialog lacks %q; visible text:\n%s", want, text)
		}
	}
	u.Show()
	if n := len(u.win.Canvas().Overlays().List()); n != before+1 {
		t.Errorf("overlays %d after a second Show, want the notices shown once (%d)", n, before+1)
	}
}
