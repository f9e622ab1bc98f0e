package ui

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/settings"
)

// TestKeyringDialogSaysWhatToDo: a keyring that did not answer at start gets a dialog
// at the first Show that says what happened (the key is in a file, which one), what to
// do (the fix the store named), that protection goes on, and offers the two actions
// there are, as buttons that name them; keeping the file closes it.
func TestKeyringDialogSaysWhatToDo(t *testing.T) {
	u, _ := newTestUI(t, newStoreBackend(t))
	u.opts.Keyring = &settings.Fallback{
		Err: errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"),
		Fix: "the keyring is locked: unlock it (log in to the desktop session, or open your keyring manager) and restart Convergence",
		Dir: "/home/ann/.local/share/convergence/secrets",
	}
	before := len(u.win.Canvas().Overlays().List())
	u.Show()
	if n := len(u.win.Canvas().Overlays().List()); n != before+1 {
		t.Fatalf("overlays %d after Show, want %d (the keyring dialog)", n, before+1)
	}
	text := visibleText(u.win)
	for _, want := range []string{
		"Your keyring could not be used",
		"kept in a file that only your user account can read:\n/home/ann/.local/share/convergence/secrets",
		"What to do: The keyring is locked: unlock it",
		"Convergence protects you in the meantime",
		"[Keep the key in the file for now]",
		"[Quit, to unlock the keyring and start again]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("keyring dialog lacks %q; visible text:\n%s", want, text)
		}
	}
	for _, jargon := range []string{"0600", "collection", "D-Bus", "Secret Service"} {
		if strings.Contains(text, jargon) {
			t.Errorf("keyring dialog says %q to a user; visible text:\n%s", jargon, text)
		}
	}
	keep := find(u.win, func(b *widget.Button) bool { return b.Text == "Keep the key in the file for now" })
	if keep.Importance != widget.HighImportance {
		t.Errorf("keeping the file is not the default button (importance %v)", keep.Importance)
	}
	test.Tap(keep)
	if n := len(u.win.Canvas().Overlays().List()); n != before {
		t.Errorf("overlays %d after Keep, want the dialog gone (%d)", n, before)
	}
}
