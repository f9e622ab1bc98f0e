package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// showNotices shows the start-up notices in one dialog, and a keyring that did not
// answer in another, the first time it is called. UI goroutine only.
func (u *UI) showNotices() {
	if u.noticesShown || (len(u.opts.Notices) == 0 && u.opts.Keyring == nil) {
		return
	}
	u.noticesShown = true
	if len(u.opts.Notices) > 0 {
		u.showNoticeList()
	}
	if u.opts.Keyring != nil {
		u.showKeyring(u.opts.Keyring) // keyringdialog.go
	}
}

// showNoticeList shows Options.Notices in one dialog.
func (u *UI) showNoticeList() {
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
