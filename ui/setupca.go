package ui

import (
	"context"
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
)

// caIntro is step 2's text before anything was installed in this run.
const caIntro = "Convergence shows sites to your browser with certificates from its own local authority, made on this computer. Your browser must trust it. Installing puts it in every browser database found (Chromium, each Firefox profile) and in the system store, which asks for the administrator password."

// caSection is the Setup tab's step 2: install the local authority in the trust stores
// and show, per store, what is true afterwards.
type caSection struct {
	u       *UI
	card    *widget.Card
	msg     *widget.Label
	results *fyne.Container // one row per store, with a command to copy where one helps
}

func newCASection(u *UI) *caSection {
	s := &caSection{u: u, msg: wrapLabel(caIntro), results: container.NewVBox()}
	install := widget.NewButtonWithIcon("Install in system and browsers", theme.ConfirmIcon(), s.install)
	install.Importance = widget.HighImportance
	export := widget.NewButtonWithIcon("Export certificate…", theme.DocumentSaveIcon(), s.export)
	s.card = widget.NewCard("2. Trust Convergence's local authority", "", container.NewVBox(
		s.msg, container.NewHBox(install, export), s.results))
	return s
}

// install installs the local CA into the trust stores, with progress, and shows each
// store's result.
func (s *caSection) install() {
	var res []TrustStoreResult
	s.u.withProgress("Installing the local authority", func(ctx context.Context) (err error) {
		res, err = s.u.backend.InstallCA(ctx)
		return err
	}, func(err error) {
		if err != nil {
			s.u.showError("install the local authority", err)
			return
		}
		s.show(res)
		s.u.setup.reload()
	})
}

// show says how many stores are done and lists each: done (what was verified, the
// browser to restart), cancelled (nothing changed, press again), or failed (why, and
// the command to run).
func (s *caSection) show(res []TrustStoreResult) {
	s.msg.SetText(caSummary(res))
	var rows []fyne.CanvasObject
	for _, r := range res {
		switch r.State {
		case core.TrustDone:
			rows = append(rows, storeRow(theme.ConfirmIcon(), r.Store, sentence("Installed, "+r.Note())))
		case core.TrustCancelled:
			rows = append(rows, storeRow(theme.WarningIcon(), r.Store, sentence("Not installed: "+r.Note())+" Press Install to be asked again."))
		default:
			rows = append(rows, storeRow(theme.ErrorIcon(), r.Store, sentence("Not installed: "+r.Note())))
			if r.Command != "" {
				cmd := valueLabel()
				cmd.SetText(r.Command)
				rows = append(rows, copyRow(s.u, "Or run", cmd))
			}
		}
	}
	s.results.Objects = rows
	s.results.Refresh()
}

// caSummary is step 2's text after an install: how many stores are done, in words
// that never call a store done that is not.
func caSummary(res []TrustStoreResult) string {
	done := 0
	for _, r := range res {
		if r.Done() {
			done++
		}
	}
	const firefox = " Firefox keeps one database per profile: after creating a profile, press Install again."
	switch {
	case len(res) == 0:
		return "No trust store was found. Export the certificate and import it in your browser's certificate settings, as an authority for websites."
	case done == len(res):
		return fmt.Sprintf("Done: the local authority is installed and verified in all %d stores found. Restart the browsers named below if they are open.", len(res)) + firefox
	case done == 0:
		return fmt.Sprintf("Not installed: none of the %d stores found could be changed. See each below.", len(res))
	}
	return fmt.Sprintf("Installed in %d of %d stores; the others, marked below, are not done.", done, len(res)) + firefox
}

// storeRow is one store's outcome: the store in bold, then an icon for how it went and
// what is true (resultRow).
func storeRow(icon fyne.Resource, store, text string) fyne.CanvasObject {
	name := wrapLabel(store)
	name.TextStyle.Bold = true
	return container.NewVBox(name, resultRow(icon, text))
}

// export saves the local CA certificate (PEM) where the user chooses.
func (s *caSection) export() {
	pem := s.u.backend.CAPEM()
	if len(pem) == 0 {
		s.u.showError("export the certificate", errors.New("the local authority has not been created yet; restart Convergence"))
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			s.u.showError("export the certificate", err)
			return
		}
		if w == nil {
			return // cancelled
		}
		_, werr := w.Write(pem)
		if cerr := w.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			s.u.showError("export the certificate", werr)
			return
		}
		dialog.ShowInformation("Exported", "Saved to "+w.URI().Path()+". Import it in your browser's certificate settings as an authority for websites.", s.u.win)
	}, s.u.win)
	d.SetFileName("convergence-ca.pem")
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".crt"}))
	d.Show()
}
