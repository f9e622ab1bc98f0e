package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// Ctrl+Tab and Ctrl+Shift+Tab switch to the next and the previous tab, as in a
// browser. A focused text field keeps its keys (Fyne hands a shortcut to the focused
// widget first): press Escape or click elsewhere first.

// addTabKeys registers the tab shortcuts on the main window.
func (u *UI) addTabKeys() {
	c := u.win.Canvas()
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl}, func(fyne.Shortcut) { u.stepTab(1) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}, func(fyne.Shortcut) { u.stepTab(-1) })
}

// stepTab selects the tab by steps after the one shown, wrapping around.
func (u *UI) stepTab(by int) {
	n := len(u.tabs.Items)
	if n == 0 {
		return
	}
	u.tabs.SelectIndex(((u.tabs.SelectedIndex()+by)%n + n) % n)
}
