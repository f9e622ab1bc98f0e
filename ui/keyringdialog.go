package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/settings"
)

// keyringWords is what the keyring dialog says when the keyring did not answer at
// start: what happened, why, what it means now, and the two things the user can do.
// A pure function of the fallback, for the dialog and its test.
func keyringWords(fb *settings.Fallback) (title string, paragraphs []string, keep, quit string) {
	fix := fb.Fix
	if fix == "" {
		fix = fb.Hint
	}
	if fix != "" {
		fix = strings.ToUpper(fix[:1]) + fix[1:]
	}
	return "Your keyring could not be used",
		[]string{
			"Convergence keeps one secret in your system's keyring: the key it signs with when it vouches for a site to your browsers. " +
				"The keyring did not answer when Convergence started, so the key is kept in a file that only your user account can read:\n" + fb.Dir,
			"What to do: " + fix + ".",
			"Convergence protects you in the meantime. When the keyring answers at a later start, the key moves into it by itself, " +
				"and your browsers need not be set up again.",
		},
		"Keep the key in the file for now",
		"Quit, to unlock the keyring and start again"
}

// showKeyring explains a keyring that did not answer at start, with the choice of
// going on with the key in a file (the default, Enter and Escape) or quitting to fix
// the keyring first. UI goroutine only.
func (u *UI) showKeyring(fb *settings.Fallback) {
	title, paragraphs, keep, quit := keyringWords(fb)
	box := container.NewVBox()
	for _, p := range paragraphs {
		l := widget.NewLabel(p)
		l.Wrapping = fyne.TextWrapWord
		box.Add(l)
	}
	d := dialog.NewCustomConfirm(title, keep, quit, box, func(keepIt bool) {
		if !keepIt {
			u.Quit()
		}
	}, u.win)
	u.answerKeys(d, d.Hide, d.Hide)
	d.Resize(fyne.NewSize(600, 0))
	d.Show()
}
