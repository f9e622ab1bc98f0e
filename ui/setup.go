package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
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
	ca       *caSection // step 2 (setupca.go)
	notMsg   *widget.Label
	check    *checkSection // 4. check that it works (setupcheck.go)
	protect  *protectCard  // "Protect this computer" (sysproxy.go)
	notaries int           // usable notaries; -1 until known (UI goroutine only)
}

func newSetupTab(u *UI) *setupTab {
	t := &setupTab{u: u, notaries: -1}
	t.banner = widget.NewLabel("")
	t.banner.Wrapping = fyne.TextWrapWord
	t.banner.TextStyle.Bold = true
	t.addr = valueLabel()
	t.pac = valueLabel()
	t.proxyMsg = wrapLabel("In your browser's or system's network settings, choose a manual proxy for HTTPS with this address, or an automatic configuration (PAC) URL.")
	t.protect = newProtectCard(u)
	step1 := widget.NewCard("1. Send your browser through Convergence", "", container.NewVBox(
		t.protect.content(),
		widget.NewSeparator(),
		t.proxyMsg,
		copyRow(u, "Proxy address", t.addr),
		copyRow(u, "PAC URL", t.pac),
	))

	t.ca = newCASection(u)
	step2 := t.ca.card

	t.notMsg = wrapLabel("")
	add := widget.NewButtonWithIcon("Add a notary…", theme.ContentAddIcon(), func() {
		u.selectTab(tabNotaries)
		u.notaries.chooseFile()
	})
	choose := widget.NewButtonWithIcon("Choose notaries for me", theme.SearchIcon(), u.showChooser) // chooser.go
	choose.Importance = widget.HighImportance
	step3 := widget.NewCard("3. Choose notaries you trust", "", container.NewVBox(t.notMsg, container.NewHBox(choose, add), u.diversityBox()))

	t.check = newCheckSection(u)
	t.content = container.NewVScroll(container.NewVBox(t.banner, step1, step2, step3, t.check.card))
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
	t.protect.reload(st)
	t.addr.SetText(st.ProxyAddr)
	t.pac.SetText(st.PACURL)
	switch {
	case st.ProxyErr != "":
		t.proxyMsg.SetText("The proxy is not running: " + st.ProxyErr + ". Change the proxy port in Settings if another program uses it, then restart Convergence.")
	case st.Paused:
		t.proxyMsg.SetText("Protection is paused: the proxy passes sites through unchecked. Resume it above, from the Activity tab or from the tray.")
	default:
		t.proxyMsg.SetText("Or set it by hand: in your browser's or system's network settings, choose a manual proxy for HTTP and HTTPS with this address, or the automatic configuration (PAC) URL.")
	}
	t.check.show(st)
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
	// A browser through with the authority trusted proves it trusted, wherever it was
	// installed from.
	if !st.CAInstalled && !st.Browser.AllSet() {
		todo = append(todo, "the local authority is not installed")
	}
	if t.notaries == 0 {
		todo = append(todo, "there are no notaries")
	}
	// Never "all set" before a browser came through with the authority trusted.
	if !st.Browser.AllSet() {
		todo = append(todo, "no browser has loaded the check page with the local authority trusted (step 4)")
	}
	switch {
	case st.DiskFull:
		t.banner.SetText(diskFullLine + " or history. Sites are still checked. Free some space on the disk that holds its data: it saves again by itself.")
	case t.notaries == 0 && !st.CAInstalled && !st.Browser.AllSet():
		t.banner.SetText("Nothing is set up yet. Follow the steps below; it takes a few minutes.")
	case len(todo) > 0:
		t.banner.SetText("Almost there: " + strings.Join(todo, ", ") + ".")
	default:
		t.banner.SetText("All set: Convergence is checking the sites your browser visits.")
	}
}
