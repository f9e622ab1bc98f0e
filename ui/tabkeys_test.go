package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
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

// typeShortcut delivers s as the desktop driver does: to the focused widget when it
// takes shortcuts, else to the window's canvas.
func typeShortcut(c fyne.Canvas, s fyne.Shortcut) {
	if f, ok := c.Focused().(fyne.Shortcutable); ok {
		f.TypedShortcut(s)
		return
	}
	c.(fyne.Shortcutable).TypedShortcut(s)
}

// TestCtrlTabFromAFocusedField: with a text field focused (Settings' proxy port, the
// Activity filter, the URL dialog's field), Ctrl+Tab still switches to the next tab and
// Ctrl+Shift+Tab back; the field still takes its own shortcuts (select all).
func TestCtrlTabFromAFocusedField(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	next := &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl}
	prev := &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}
	c := u.win.Canvas()
	n := len(u.tabs.Items)

	selectTab(t, u, "Settings")
	at := u.tabs.SelectedIndex()
	c.Focus(u.settings.port)
	typeShortcut(c, next)
	if got := u.tabs.SelectedIndex(); got != (at+1)%n {
		t.Errorf("Ctrl+Tab in Settings' port field: tab %d (%s), want %d", got, u.tabs.Selected().Text, (at+1)%n)
	}
	if c.Focused() != nil {
		t.Errorf("the hidden Settings field kept the focus: %T", c.Focused())
	}

	selectTab(t, u, "Activity")
	at = u.tabs.SelectedIndex()
	c.Focus(u.activity.filter)
	typeShortcut(c, prev)
	if got := u.tabs.SelectedIndex(); got != (at-1+n)%n {
		t.Errorf("Ctrl+Shift+Tab in the Activity filter: tab %d (%s), want %d", got, u.tabs.Selected().Text, (at-1+n)%n)
	}

	selectTab(t, u, "Notaries")
	u.notaries.askURL()
	field := find(u.win, func(e *escEntry) bool { return true })
	if field == nil {
		t.Fatal("no URL field in the URL dialog")
	}
	test.Type(field, "notary.example.org")
	c.Focus(field)
	at = u.tabs.SelectedIndex()
	typeShortcut(c, next)
	if got := u.tabs.SelectedIndex(); got != (at+1)%n {
		t.Errorf("Ctrl+Tab in the URL dialog's field: tab %d, want %d", got, (at+1)%n)
	}
	if c.Focused() != field {
		t.Errorf("the URL dialog's field lost the focus to %T", c.Focused())
	}
	typeShortcut(c, &fyne.ShortcutSelectAll{})
	if got := field.SelectedText(); got != "notary.example.org" {
		t.Errorf("select all in the URL field selected %q: the entry no longer takes its own shortcuts", got)
	}
}
