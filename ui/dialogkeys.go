package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// answerKeys makes the keyboard answer d while it is shown: Enter (Return or the
// keypad's Enter) runs onEnter, the dialog's default, and Escape runs onEscape; other
// keys go to the window's own handler, which comes back when d closes. Fyne's dialogs
// answer neither key by themselves (v2.7). A key typed into a focused entry goes to
// the entry: give it OnSubmitted for Enter, and make it an escEntry for Escape.
func (u *UI) answerKeys(d dialog.Dialog, onEnter, onEscape func()) {
	c := u.win.Canvas()
	c.Unfocus() // a field focused under the dialog would take the keys
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

// escEntry is an entry that hands Escape to its dialog: a focused entry receives every
// key, and Fyne's entry ignores Escape, so a dialog with a field would not answer it.
type escEntry struct {
	widget.Entry
	onEscape func()
}

// newEscEntry makes an entry whose Escape runs onEscape.
func newEscEntry(onEscape func()) *escEntry {
	e := &escEntry{onEscape: onEscape}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey runs onEscape for Escape and types any other key.
func (e *escEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.onEscape != nil {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(k)
}

// TypedShortcut passes the tab keys to the window (tabkeys.go) and the rest to the
// entry.
func (e *escEntry) TypedShortcut(s fyne.Shortcut) {
	if !passTabKey(e, s) {
		e.Entry.TypedShortcut(s)
	}
}

// inform shows a message with OK, which Enter and Escape also answer.
func (u *UI) inform(title, message string) {
	d := dialog.NewInformation(title, message, u.win)
	u.answerKeys(d, d.Hide, d.Hide)
	d.Show()
}

// confirm asks a yes-or-no question. Escape answers No; Enter answers Yes, or No when
// saying yes is the risky answer (enterSaysNo).
func (u *UI) confirm(title, message string, enterSaysNo bool, answer func(yes bool)) {
	d := dialog.NewConfirm(title, message, answer, u.win)
	enter := d.Confirm
	if enterSaysNo {
		enter = d.Hide
	}
	u.answerKeys(d, enter, d.Hide)
	d.Show()
}
