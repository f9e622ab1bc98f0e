package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// setupTab is the first-run guide: point the browser at the proxy, trust the local CA,
// add a notary. It says plainly when nothing is set up yet.
type setupTab struct {
	u        *UI
	content  fyne.CanvasObject
	banner   *widget.Label
	addr     *widget.Label
	pac      *widget.Label
	proxyMsg *widget.Label
	caMsg    *widget.Label
	notMsg   *widget.Label
	results  *fyne.Container // per-store install results, with commands to copy
	notaries int             // usable notaries; -1 until known (UI goroutine only)
}

func newSetupTab(u *UI) *setupTab {
	t := &setupTab{u: u, notaries: -1}
	t.banner = widget.NewLabel("")
	t.banner.Wrapping = fyne.TextWrapWord
	t.banner.TextStyle.Bold = true
	t.addr = valueLabel()
	t.pac = valueLabel()
	t.proxyMsg = wrapLabel("In your browser's or system's network settings, choose a manual proxy for HTTPS with this address, or an automatic configuration (PAC) URL.")
	step1 := widget.NewCard("1. Send your browser through Convergence", "", container.NewVBox(
		t.proxyMsg,
		copyRow(u, "Proxy address", t.addr),
		copyRow(u, "PAC URL", t.pac),
	))

	t.caMsg = wrapLabel("Convergence shows sites to your browser with certificates from its own local authority, made on this computer. Your browser must trust it.")
	install := widget.NewButtonWithIcon("Install in system and browsers", theme.ConfirmIcon(), t.installCA)
	install.Importance = widget.HighImportance
	export := widget.NewButtonWithIcon("Export certificate…", theme.DocumentSaveIcon(), t.exportCA)
	t.results = container.NewVBox()
	step2 := widget.NewCard("2. Trust Convergence's local authority", "", container.NewVBox(
		t.caMsg, container.NewHBox(install, export), t.results))

	t.notMsg = wrapLabel("")
	add := widget.NewButtonWithIcon("Add a notary…", theme.ContentAddIcon(), func() {
		u.selectTab(tabNotaries)
		u.notaries.chooseFile()
	})
	step3 := widget.NewCard("3. Choose notaries you trust", "", container.NewVBox(t.notMsg, container.NewHBox(add)))

	t.content = container.NewVScroll(container.NewVBox(t.banner, step1, step2, step3))
	return t
}

func wrapLabel(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// resultRow is one outcome: an icon for how it went, then its words. (Icons, not
// check-mark characters: the app is built without an emoji font, and the theme's text
// font has no such marks.)
func resultRow(icon fyne.Resource, text string) fyne.CanvasObject {
	return container.NewBorder(nil, nil, widget.NewIcon(icon), nil, wrapLabel(text))
}

// valueLabel shows a value the user copies: monospace, selectable, not editable.
func valueLabel() *widget.Label {
	l := widget.NewLabel("")
	l.TextStyle.Monospace = true
	l.Selectable = true
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// copyRow is a label, a value and a button that copies the value to the clipboard.
func copyRow(u *UI, label string, value *widget.Label) fyne.CanvasObject {
	btn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		u.app.Clipboard().SetContent(value.Text)
	})
	l := widget.NewLabel(label)
	return container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(120, l.MinSize().Height), l), btn, value)
}

// reload reads the status (cheap, no I/O by contract) and rewords the guide.
func (t *setupTab) reload() {
	st := t.u.backend.Status()
	t.addr.SetText(st.ProxyAddr)
	t.pac.SetText(st.PACURL)
	switch {
	case st.ProxyErr != "":
		t.proxyMsg.SetText("The proxy is not running: " + st.ProxyErr + ". Change the proxy port in Settings if another program uses it, then restart Convergence.")
	case st.Paused:
		t.proxyMsg.SetText("Protection is paused: the proxy passes sites through unchecked. Resume it from the Activity tab or the tray.")
	default:
		t.proxyMsg.SetText("In your browser's or system's network settings, choose a manual proxy for HTTP and HTTPS with this address, or the automatic configuration (PAC) URL.")
	}
	if st.CAInstalled {
		t.caMsg.SetText("Done: the local authority is installed in the system trust store. Browsers with their own store (Firefox) may still need it: install again after creating a profile.")
	}
	t.updateBanner(st)
}

// showNotaries records how many usable notaries there are.
func (t *setupTab) showNotaries(n int) {
	t.notaries = n
	if n == 0 {
		t.notMsg.SetText("You have no notaries yet, so no site can be checked. Add a .notary file from a notary operator you trust (a friend, your organisation, a public notary).")
	} else {
		t.notMsg.SetText(fmt.Sprintf("Done: %d notaries are asked about each site. Add more from the Notaries tab for better protection.", n))
	}
	t.updateBanner(t.u.backend.Status())
}

func (t *setupTab) updateBanner(st Status) {
	var todo []string
	if st.ProxyErr != "" {
		todo = append(todo, "the proxy is not running")
	}
	if !st.CAInstalled {
		todo = append(todo, "the local authority is not installed")
	}
	if t.notaries == 0 {
		todo = append(todo, "there are no notaries")
	}
	switch {
	case st.DiskFull:
		t.banner.SetText(diskFullLine + " or history. Sites are still checked. Free some space on the disk that holds its data: it saves again by itself.")
	case t.notaries == 0 && !st.CAInstalled:
		t.banner.SetText("Nothing is set up yet. Follow the three steps below; it takes a few minutes.")
	case len(todo) > 0:
		t.banner.SetText("Almost there: " + strings.Join(todo, ", ") + ".")
	default:
		t.banner.SetText("All set: Convergence is checking the sites your browser visits.")
	}
}

// installCA installs the local CA into the trust stores, with progress, and shows each
// store's result, with the command to run where a password is needed.
func (t *setupTab) installCA() {
	var res []TrustStoreResult
	t.u.withProgress("Installing the local authority", func(ctx context.Context) (err error) {
		res, err = t.u.backend.InstallCA(ctx)
		return err
	}, func(err error) {
		if err != nil {
			t.u.showError("install the local authority", err)
			return
		}
		t.showResults(res)
		t.reload()
	})
}

// showResults lists each store's outcome; a command to copy where one is needed.
func (t *setupTab) showResults(res []TrustStoreResult) {
	var rows []fyne.CanvasObject
	if len(res) == 0 {
		rows = append(rows, wrapLabel("No trust store was found. Export the certificate and import it in your browser's certificate settings."))
	}
	for _, r := range res {
		switch {
		case r.Installed:
			rows = append(rows, resultRow(theme.ConfirmIcon(), r.Store+": installed."))
		case r.Command != "":
			msg := r.Store + ": needs your password. Run this in a terminal:"
			if r.Err != "" {
				msg = r.Store + ": " + r.Err + ". Run this in a terminal:"
			}
			cmd := valueLabel()
			cmd.SetText(r.Command)
			rows = append(rows, resultRow(theme.WarningIcon(), msg), copyRow(t.u, "Command", cmd))
		default:
			rows = append(rows, resultRow(theme.ErrorIcon(), r.Store+": "+r.Err+"."))
		}
	}
	t.results.Objects = rows
	t.results.Refresh()
}

// exportCA saves the local CA certificate (PEM) where the user chooses.
func (t *setupTab) exportCA() {
	pem := t.u.backend.CAPEM()
	if len(pem) == 0 {
		t.u.showError("export the certificate", errors.New("the local authority has not been created yet; restart Convergence"))
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			t.u.showError("export the certificate", err)
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
			t.u.showError("export the certificate", werr)
			return
		}
		dialog.ShowInformation("Exported", "Saved to "+w.URI().Path()+". Import it in your browser's certificate settings as an authority for websites.", t.u.win)
	}, t.u.win)
	d.SetFileName("convergence-ca.pem")
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".crt"}))
	d.Show()
}
