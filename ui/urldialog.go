package ui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/verifier"
)

// The "Add from URL" dialog: a field wide enough for a URL, Enter to go on, Escape to
// cancel; "notary.example.org" alone is understood (verifier.ResolveBundleSource), the
// fetch can be cancelled (withCancel), and after an error the dialog comes back with
// the URL as typed and what went wrong.

// urlFieldWidth fits a typical bundle URL without scrolling.
const urlFieldWidth = 520

// askURL asks for a bundle's URL.
func (t *notariesTab) askURL() { t.askURLWith("", "") }

// askURLWith asks for a bundle's URL, the field holding typed and, after a failed
// attempt, problem said above it.
func (t *notariesTab) askURLWith(typed, problem string) {
	var d *dialog.CustomDialog
	e := newEscEntry(func() { d.Hide() })
	e.SetPlaceHolder("notary.example.org or https://notary.example.org/my.notary")
	e.SetText(typed)
	hint := widget.NewLabel("The address of a notary you trust, or of its .notary file. Only https:// addresses are read.")
	hint.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{}
	if problem != "" {
		p := widget.NewLabel(problem)
		p.Wrapping = fyne.TextWrapWord
		p.Importance = widget.DangerImportance
		objs = append(objs, p)
	}
	field := container.NewGridWrap(fyne.NewSize(urlFieldWidth, e.MinSize().Height), e)
	objs = append(objs, field, hint)
	next := func() {
		typed := e.Text
		src := verifier.ResolveBundleSource(typed)
		if src == "" {
			return
		}
		d.Hide()
		t.typedURL, t.typedSrc = typed, src
		t.importFrom(src)
	}
	e.OnSubmitted = func(string) { next() }
	nextBtn := widget.NewButton("Next", next)
	nextBtn.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Add a notary from a URL", container.NewVBox(objs...), t.u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), nextBtn})
	t.u.answerKeys(d, next, d.Hide)
	d.Show()
	t.u.win.Canvas().Focus(e)
}

// retryURL shows the URL dialog again, with what the user typed and err in plain
// words, when src came from it; it reports whether it did. A cancelled read shows it
// without a problem.
func (t *notariesTab) retryURL(src string, err error) bool {
	if src != t.typedSrc || t.typedSrc == "" {
		return false
	}
	typed := t.typedURL
	t.typedURL, t.typedSrc = "", ""
	if errors.Is(err, context.Canceled) {
		t.askURLWith(typed, "")
		return true
	}
	what, fix := explain("read the notary at this address", err)
	t.askURLWith(typed, what+" "+fix)
	return true
}

// withCancel is withProgress with a Cancel button: it cancels the work's context and
// closes the dialog at once; after still runs, with the work's error (context.Canceled
// when it gave up).
func (u *UI) withCancel(title string, work func(ctx context.Context) error, after func(err error)) {
	bar := widget.NewProgressBarInfinite()
	ctx, cancel := context.WithCancel(u.ctx)
	d := dialog.NewCustomWithoutButtons(title, container.NewVBox(widget.NewLabel("Please wait…"), bar), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { cancel(); d.Hide() })})
	u.answerKeys(d, nil, func() { cancel(); d.Hide() })
	d.Show()
	u.goWork(func(context.Context) error { return work(ctx) }, func(err error) {
		cancel()
		bar.Stop()
		d.Hide()
		after(err)
	})
}
