package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/verifier"
)

// Buttons of the "trust anyway" dialog. No is the default: Enter and Escape answer it,
// as a browser's certificate-error page makes "Back to safety" the primary button.
const (
	trustNo  = "No, keep it blocked"
	trustYes = "Yes, trust it"
)

// showTrustAnyway asks whether to trust v's certificate anyway, with its scope (this
// certificate only) and for how long (once by default, the shortest), then makes the
// decision; done runs on the UI goroutine after it was made.
func (u *UI) showTrustAnyway(v verifier.Verdict, done func()) {
	warn := widget.NewLabel(fmt.Sprintf("The notaries did not vouch for the certificate %s shows you. "+
		"Trust it only if you know why, for example a device on your own network. "+
		"Someone between you and the site could be presenting it.", v.Target))
	warn.Wrapping = fyne.TextWrapWord
	scopeText := core.ScopeCertificate.Words(v.Target)
	scope := widget.NewRadioGroup([]string{scopeText}, nil)
	scope.SetSelected(scopeText)
	scope.Required = true
	words := make([]string, len(core.TrustDurations))
	for i, d := range core.TrustDurations {
		words[i] = d.Words()
	}
	dur := widget.NewRadioGroup(words, nil)
	dur.SetSelected(core.TrustOnce.Words())
	dur.Required = true
	form := widget.NewForm(widget.NewFormItem("Covers", scope), widget.NewFormItem("For how long", dur))

	var d *dialog.CustomDialog
	no := widget.NewButton(trustNo, func() { d.Hide() })
	no.Importance = widget.HighImportance
	yes := widget.NewButton(trustYes, func() {
		choice := core.TrustAlways
		for i, w := range words {
			if w == dur.Selected {
				choice = core.TrustDurations[i]
			}
		}
		d.Hide()
		u.withProgress("Trusting the certificate", func(ctx context.Context) error {
			return u.backend.TrustAnyway(ctx, v, core.ScopeCertificate, choice, "you trusted it anyway, from its details")
		}, func(err error) {
			if err != nil {
				u.showError("trust the certificate", err)
				return
			}
			u.decisions.reload()
			if done != nil {
				done()
			}
		})
	})
	yes.Importance = widget.DangerImportance
	d = dialog.NewCustomWithoutButtons("Trust this certificate anyway?", container.NewVBox(warn, form), u.win)
	d.SetButtons([]fyne.CanvasObject{no, yes})
	u.answerKeys(d, d.Hide, d.Hide)
	d.Resize(fyne.NewSize(560, 380))
	d.Show()
}
