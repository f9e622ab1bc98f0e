package ui

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// explain turns an error into what happened and what to do, in plain words.
func explain(action string, err error) (what, fix string) {
	what = "Convergence could not " + action + "."
	var netErr net.Error
	var tlsErr *tls.CertificateVerificationError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, protocol.ErrMalformed), errors.Is(err, protocol.ErrTooLarge):
		return what + " This is not a valid .notary file.", "Ask the notary's operator for its .notary file again; this one is damaged or of another kind."
	case errors.Is(err, verifier.ErrBundleSource):
		return what + " That is not a file or an https:// address.", "Give the path of a .notary file, or an address that starts with https://."
	case errors.Is(err, directory.ErrBadSignature):
		return what + " The notary directory's signature does not verify: it was changed after it was signed, or signed with another key. It was not used.",
			"Ask the directory's maintainer for the right key. The last good copy, if any, is still used."
	case errors.Is(err, core.ErrOtherKeys):
		return what + " A notary with this name is trusted with other hosts or keys; a directory never replaces them.",
			"Ask the notary's operator which are right; if the new ones are, add its .notary file: the app shows both and asks."
	case errors.Is(err, core.ErrNothingToChoose):
		return what + " You trust every notary the directories list already.", "Add another directory, or a notary from a file or a URL."
	case errors.Is(err, settings.ErrInvalidSettings):
		return what, "Some values don't fit together: " + invalidDetail(err) + ". Change them and save again."
	case errors.Is(err, context.DeadlineExceeded):
		return what + " It took too long.", "Check your network connection and try again."
	case errors.As(err, &tlsErr):
		return what + " The server's certificate could not be verified, so its answer cannot be trusted.",
			"Check the address. If it is right, ask the notary's operator for the .notary file and add it from the file."
	case errors.As(err, &dnsErr):
		return what + " The address could not be found.", "Check the spelling of the address and your network connection."
	case errors.As(err, &netErr):
		return what + " The server could not be reached.", "Check the address and your network connection, then try again."
	case errors.Is(err, os.ErrNotExist):
		return what + " The file does not exist.", "Choose the file again; it may have been moved."
	case errors.Is(err, os.ErrPermission):
		return what + " Permission was denied.", "Check that you may read or write that file or folder."
	}
	return what, "Details: " + err.Error() + "."
}

// invalidDetail lists what settings.Validate complained about, without the sentinel's
// text repeated.
func invalidDetail(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.LastIndex(line, settings.ErrInvalidSettings.Error()+": "); i >= 0 {
			line = line[i+len(settings.ErrInvalidSettings.Error())+2:]
		}
		if line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// showError shows a plain-language error dialog: what happened, then the fix.
func (u *UI) showError(action string, err error) {
	what, fix := explain(action, err)
	whatL := widget.NewLabel(what)
	whatL.Wrapping = fyne.TextWrapWord
	fixL := widget.NewLabel(fix)
	fixL.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom("Something went wrong", "Close", container.NewVBox(whatL, fixL), u.win)
	u.answerKeys(d, d.Hide, d.Hide)
	d.Resize(fyne.NewSize(460, 200))
	d.Show()
}

// withProgress runs work off the UI goroutine behind a dialog with an endless progress
// bar, then after(err) on the UI goroutine.
func (u *UI) withProgress(title string, work func(ctx context.Context) error, after func(err error)) {
	bar := widget.NewProgressBarInfinite()
	d := dialog.NewCustomWithoutButtons(title, container.NewVBox(widget.NewLabel("Please wait…"), bar), u.win)
	d.Show()
	u.goWork(work, func(err error) {
		bar.Stop()
		d.Hide()
		after(err)
	})
}
