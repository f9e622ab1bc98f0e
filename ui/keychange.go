package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/verifier"
)

// KeyChangeBackend compares a bundle with the notary trusted under its name
// (core.Core.KeyChange, which the terminal uses too).
type KeyChangeBackend interface {
	KeyChange(ctx context.Context, b protocol.Bundle) (kc verifier.KeyChange, known bool, err error)
}

// showKeyChange warns that a bundle has a trusted notary's name but other hosts or
// keys, with the two side by side. Keeping the old is the default (the highlighted
// button, and what closing the dialog does); replace runs only on the other button.
func (u *UI) showKeyChange(kc verifier.KeyChange, src string, replace func()) dialog.Dialog {
	column := func(title string, lines []string) fyne.CanvasObject {
		head := widget.NewLabel(title)
		head.TextStyle.Bold = true
		body := widget.NewLabel(strings.Join(lines, "\n"))
		body.TextStyle.Monospace = true
		body.Wrapping = fyne.TextWrapBreak
		return container.NewBorder(head, nil, nil, nil, body)
	}
	intro := wrapLabel("You trust a notary named " + kc.Name + " with other hosts or keys than this file (" + src + ") has. " +
		"This may be a change its operator announced, or someone else taking its name to answer in its place. " +
		"Keep the notary as it is unless its operator told you, in a way you trust, that these are its new hosts and keys.")
	var d dialog.Dialog
	keep := widget.NewButtonWithIcon("Keep the old", theme.CancelIcon(), func() { d.Hide() })
	keep.Importance = widget.HighImportance
	take := widget.NewButtonWithIcon("Replace with the new", theme.WarningIcon(), func() {
		d.Hide()
		replace()
	})
	take.Importance = widget.DangerImportance
	body := container.NewBorder(intro, nil, nil, nil,
		container.NewGridWithColumns(2, column("Trusted now", kc.Old), column("In this file", kc.New)))
	d = dialog.NewCustomWithoutButtons("This notary's hosts or keys changed", container.NewBorder(nil, container.NewHBox(keep, take), nil, nil, body), u.win)
	d.Resize(fyne.NewSize(900, 420))
	d.Show()
	return d
}
