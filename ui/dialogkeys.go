package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
)

// answerKeys makes the keyboard answer d while it is shown: Enter (Return or the
// keypad's Enter) runs onEnter, the dialog's default, and Escape runs onEscape; other
// keys go to the window's own handler, which comes back when d closes. Fyne's dialogs
// answer neither key by themselves (v2.7). A key typed into a focused entry goes to
// the entry: give it OnSubmitted for Enter.
func (u *UI) answerKeys(d dialog.Dialog, onEnter, onEscape func()) {
	c := u.win.Canvas()
	prev := c.OnTypedKey()
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch ev.Name {
		case fyne.KeyReturn, fyne.KeyEnter:
			if onEnter != nil {
				onEnter()
			}
		case fyne.KeyEscape:
			if onEscape != nil {
				onEscape()
			}
		default:
			if prev != nil {
				prev(ev)
			}
		}
	})
	d.SetOnClosed(func() { c.SetOnTypedKey(prev) })
}
