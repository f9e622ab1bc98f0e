package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// showNotices shows the start-up notices in one dialog, the first time it is called.
// UI goroutine only.
func (u *UI) showNotices() {
	if u.noticesShown || len(u.opts.Notices) == 0 {
		return
	}
	u.noticesShown = true
	box := container.NewVBox()
	for _, n := range u.opts.Notices {
		l := widget.NewLabel(n)
		l.Wrapping = fyne.TextWrapWord
		box.Add(l)
	}
	d := dialog.NewCustom("Convergence is running, but needs your attention", "OK", box, u.win)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}
