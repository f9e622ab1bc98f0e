package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// TestCtrlTabSwitchesTabs: Ctrl+Tab goes to the next tab, Ctrl+Shift+Tab back, both
// wrapping around; typed as the driver types a shortcut with nothing focused.
func TestCtrlTabSwitchesTabs(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	u.tabs.SelectIndex(0)
	next := &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl}
	prev := &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}
	u.win.Canvas().Unfocus()
	u.win.Canvas().(fyne.Shortcutable).TypedShortcut(next)
	if got := u.tabs.Selected().Text; got != "Notaries" {
		t.Errorf("Ctrl+Tab from Activity: %q", got)
	}
	u.win.Canvas().(fyne.Shortcutable).TypedShortcut(prev)
	u.win.Canvas().(fyne.Shortcutable).TypedShortcut(prev)
	if got, want := u.tabs.Selected().Text, u.tabs.Items[len(u.tabs.Items)-1].Text; got != want {
		t.Errorf("Ctrl+Shift+Tab twice from Notaries: %q, want the last tab %q", got, want)
	}
}
