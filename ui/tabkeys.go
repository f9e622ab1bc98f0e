package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// Ctrl+Tab and Ctrl+Shift+Tab switch to the next and the previous tab, as in a
// browser, wherever the focus is. Fyne hands a shortcut to the focused widget instead
// of the window, and its Entry swallows every shortcut it does not know (v2.7), so the
// app's text fields are tabEntry (or escEntry), which pass these two to the window.

// addTabKeys registers the tab shortcuts on the main window.
func (u *UI) addTabKeys() {
	c := u.win.Canvas()
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl}, func(fyne.Shortcut) { u.stepTab(1) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}, func(fyne.Shortcut) { u.stepTab(-1) })
}

// stepTab selects the tab by steps after the one shown, wrapping around. A field of
// the tab left keeps no focus (it is hidden: keys typed would go to it unseen); one in
// a dialog keeps it.
func (u *UI) stepTab(by int) {
	n := len(u.tabs.Items)
	if n == 0 {
		return
	}
	u.tabs.SelectIndex(((u.tabs.SelectedIndex()+by)%n + n) % n)
	if c := u.win.Canvas(); c.Overlays().Top() == nil {
		c.Unfocus()
	}
}

// isTabKey reports whether s is Ctrl+Tab or Ctrl+Shift+Tab.
func isTabKey(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	return ok && cs.KeyName == fyne.KeyTab &&
		(cs.Modifier == fyne.KeyModifierControl || cs.Modifier == fyne.KeyModifierControl|fyne.KeyModifierShift)
}

// passTabKey hands Ctrl+Tab or Ctrl+Shift+Tab typed into o to the window's canvas,
// which switches tabs, and reports whether it did.
func passTabKey(o fyne.CanvasObject, s fyne.Shortcut) bool {
	if !isTabKey(s) {
		return false
	}
	sc, ok := fyne.CurrentApp().Driver().CanvasForObject(o).(fyne.Shortcutable)
	if !ok {
		return false
	}
	sc.TypedShortcut(s)
	return true
}

// tabEntry is an entry that lets the tab-switching keys through to the window.
type tabEntry struct{ widget.Entry }

// newTabEntry makes a one-line tabEntry.
func newTabEntry() *tabEntry {
	e := &tabEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// newTabMultiLineEntry makes a multi-line tabEntry, as widget.NewMultiLineEntry does.
func newTabMultiLineEntry() *tabEntry {
	e := newTabEntry()
	e.MultiLine = true
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	return e
}

// TypedShortcut passes the tab keys to the window and the rest to the entry.
func (e *tabEntry) TypedShortcut(s fyne.Shortcut) {
	if !passTabKey(e, s) {
		e.Entry.TypedShortcut(s)
	}
}
