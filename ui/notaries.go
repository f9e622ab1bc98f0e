package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// notariesTab lists the user's notaries and adds, revokes and toggles them.
type notariesTab struct {
	u       *UI
	content fyne.CanvasObject
	rows    *fyne.Container // one card per notary
	empty   *widget.Label
	undo    *fyne.Container // the "revoked X · Undo" bar
	undoMsg *widget.Label
	undoBtn *widget.Button
	undoGen int               // which revoke the bar belongs to; UI goroutine only
	known   []settings.Notary // as last loaded; UI goroutine only
	loaded  bool              // the list was shown once; UI goroutine only
	// typedURL is what the user typed in the URL dialog for the source being read
	// (urldialog.go); UI goroutine only.
	typedURL, typedSrc string
	// health is each card's health line by notary name (health.go); UI goroutine only.
	health map[string]*widget.Label
}

func newNotariesTab(u *UI) *notariesTab {
	t := &notariesTab{u: u}
	t.rows = container.NewVBox()
	t.empty = widget.NewLabel("No notaries yet. Convergence needs at least one to check sites: add a .notary file you got from a notary you trust, or its URL.")
	t.empty.Wrapping = fyne.TextWrapWord
	t.empty.Hide()
	fromFile := widget.NewButtonWithIcon("Add from file…", theme.FileIcon(), t.chooseFile)
	fromURL := widget.NewButtonWithIcon("Add from URL…", theme.DownloadIcon(), t.askURL)
	hint := widget.NewLabel("or drop a .notary file on this window")
	hint.Importance = widget.LowImportance
	t.undoMsg = widget.NewLabel("")
	t.undoBtn = widget.NewButtonWithIcon("Undo", theme.ContentUndoIcon(), nil)
	t.undo = container.NewBorder(nil, nil, nil, t.undoBtn, t.undoMsg)
	t.undo.Hide()
	choose := widget.NewButtonWithIcon("Choose for me…", theme.SearchIcon(), u.showChooser) // chooser.go
	top := container.NewVBox(container.NewHBox(choose, fromFile, fromURL, hint), u.diversityBox())
	t.content = container.NewBorder(top, t.undo, nil, nil,
		container.NewVScroll(container.NewVBox(t.empty, t.rows)))
	return t
}

// reload fetches the notaries in the background and rebuilds the list.
func (t *notariesTab) reload() {
	var list []settings.Notary
	t.u.goWork(func(ctx context.Context) (err error) {
		list, err = t.u.backend.Notaries(ctx)
		return err
	}, func(err error) {
		if err != nil {
			t.u.showError("read your notaries", err)
			return
		}
		t.show(list)
	})
}

// show rebuilds the cards; it runs on the UI goroutine.
func (t *notariesTab) show(list []settings.Notary) {
	t.known = list
	t.health = map[string]*widget.Label{}
	n := 0
	var cards []fyne.CanvasObject
	for _, nv := range list {
		if nv.Revoked {
			continue
		}
		if nv.Enabled {
			n++
		}
		cards = append(cards, t.card(nv))
	}
	t.rows.Objects = cards
	t.refreshHealth()
	t.rows.Refresh()
	if len(cards) == 0 {
		t.empty.Show()
	} else {
		t.empty.Hide()
	}
	t.u.mu.Lock()
	t.u.notaryN = n
	t.u.mu.Unlock()
	t.u.updateTray()
	t.u.activity.refresh()
	t.u.setup.showNotaries(n)
	t.u.refreshDiversity()
	if !t.loaded && len(cards) == 0 {
		t.u.selectTab(tabSetup) // first run: open on the Setup guide
	}
	t.loaded = true
}

// card shows one notary with its toggle and Revoke button.
func (t *notariesTab) card(nv settings.Notary) fyne.CanvasObject {
	hosts := make([]string, len(nv.Hosts))
	for i, h := range nv.Hosts {
		hosts[i] = net.JoinHostPort(h.Host, strconv.Itoa(h.SSLPort))
	}
	info := []string{"Hosts: " + strings.Join(hosts, ", ")}
	if !nv.AddedAt.IsZero() {
		info = append(info, "Added "+nv.AddedAt.Format("2 Jan 2006"))
	}
	text := widget.NewLabel(strings.Join(info, "\n"))
	text.Wrapping = fyne.TextWrapWord
	health := t.healthLine(nv.Name)
	name := nv.Name
	enabled := widget.NewCheck("Ask this notary", nil)
	enabled.SetChecked(nv.Enabled)
	enabled.OnChanged = func(on bool) {
		t.u.goWork(func(ctx context.Context) error {
			_, err := t.u.backend.SetNotaryEnabled(ctx, name, on)
			return err
		}, func(err error) {
			if err != nil {
				t.u.showError("change the notary", err)
			}
			t.reload()
		})
	}
	revoke := widget.NewButtonWithIcon("Revoke", theme.DeleteIcon(), func() { t.revoke(name) })
	subtitle := "Country: " + regionName(nv.Region)
	return widget.NewCard(nv.Name, subtitle,
		container.NewBorder(nil, nil, nil, container.NewVBox(enabled, revoke), container.NewVBox(health, text)))
}

// revoke stops trusting the notary at once and offers Undo for a few seconds.
func (t *notariesTab) revoke(name string) {
	var dropped int
	t.u.goWork(func(ctx context.Context) error {
		var err error
		dropped, err = t.u.backend.Revoke(ctx, name)
		return err
	}, func(err error) {
		if err != nil {
			t.u.showError(fmt.Sprintf("revoke %q", name), err)
			return
		}
		t.undoGen++
		gen := t.undoGen
		msg := fmt.Sprintf("Revoked %s: it is no longer asked.", name)
		if dropped > 0 {
			msg += fmt.Sprintf(" %d remembered verdicts that needed it were forgotten.", dropped)
		}
		t.undoMsg.SetText(msg)
		t.undoBtn.OnTapped = func() {
			t.undo.Hide()
			t.u.goWork(func(ctx context.Context) error {
				return t.u.backend.Unrevoke(ctx, name)
			}, func(err error) {
				if err != nil {
					t.u.showError(fmt.Sprintf("undo the revoke of %q", name), err)
				}
				t.reload()
			})
		}
		t.undo.Show()
		time.AfterFunc(undoFor, func() { // a timer, not a goroutine we own: it ends at once
			if t.u.ctx.Err() != nil {
				return
			}
			t.u.onUI(func() {
				if t.undoGen == gen {
					t.undo.Hide()
				}
			})
		})
		t.reload()
	})
}

// chooseFile opens the file dialog for a .notary bundle.
func (t *notariesTab) chooseFile() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			t.u.showError("open the file", err)
			return
		}
		if r == nil {
			return // cancelled
		}
		path := r.URI().Path()
		_ = r.Close()
		t.importFrom(path)
	}, t.u.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".notary"}))
	d.Show()
}

// dropped imports .notary files dropped on the window.
func (t *notariesTab) dropped(_ fyne.Position, uris []fyne.URI) {
	for _, u := range uris {
		if strings.EqualFold(u.Extension(), ".notary") {
			t.u.selectTab(tabNotaries)
			t.importFrom(u.Path())
			return // one at a time: each asks for confirmation
		}
	}
	if len(uris) > 0 {
		t.u.inform("Not a notary file", "Drop a file whose name ends in .notary to add a notary.")
	}
}

// importFrom reads the bundle, shows what it says and asks before trusting it; then it
// trusts the bytes it showed, without reading src again.
func (t *notariesTab) importFrom(src string) {
	var (
		raw         []byte
		b           protocol.Bundle
		independent string // what it shares with the notaries asked now (chooser.go)
		kc          verifier.KeyChange
		known       bool
	)
	t.u.withCancel("Reading the notary", func(ctx context.Context) (err error) {
		if raw, b, err = t.u.backend.PreviewBundle(ctx, src); err != nil {
			return err
		}
		if independent, err = t.u.bundlePreview(ctx, b); err != nil {
			return err
		}
		kc, known, err = t.u.backend.KeyChange(ctx, b)
		return err
	}, func(err error) {
		if err != nil && t.retryURL(src, err) { // urldialog.go: the URL stays as typed
			return
		}
		if err != nil {
			t.u.showError("read this notary file", err)
			return
		}
		if known && kc.Changed { // keychange.go: never a routine update
			t.u.showKeyChange(kc, src, func() { t.doImport(raw, src, false) })
			return
		}
		title, button, text := "Trust this notary?", "Trust", bundleText(b, src)+"\n\n"+independent
		for _, k := range t.known {
			if k.Name == b.Name && !k.Revoked {
				title, button = "Update this notary?", "Update"
				text = "You already trust a notary named " + b.Name + ". Its hosts and keys will be replaced by these.\n\n" + text
			}
		}
		l := widget.NewLabel(text)
		l.Wrapping = fyne.TextWrapWord
		d := dialog.NewCustomConfirm(title, button, "Cancel", l, func(ok bool) {
			if ok {
				t.doImport(raw, src, false)
			}
		}, t.u.win)
		d.Resize(fyne.NewSize(520, 340))
		d.Show()
	})
}

// doImport trusts the bundle raw read from src; for a notary revoked before it asks
// first.
func (t *notariesTab) doImport(raw []byte, src string, confirmRevoked bool) {
	var nv settings.Notary
	t.u.withProgress("Adding the notary", func(ctx context.Context) (err error) {
		nv, err = t.u.backend.ImportBundle(ctx, raw, src, confirmRevoked)
		return err
	}, func(err error) {
		switch {
		case errors.Is(err, verifier.ErrPreviouslyRevoked) && !confirmRevoked:
			t.u.confirm("You revoked this notary before",
				"You stopped trusting this notary earlier. Trust it again only if you know why it was revoked and that this is resolved.\n\nTrust it again?",
				true, func(ok bool) {
					if ok {
						t.doImport(raw, src, true)
					}
				})
		case err != nil:
			t.u.showError("add the notary", err)
		default:
			t.u.inform("Notary added", nv.Name+" will be asked from now on.")
			t.reload()
			t.u.setup.reload()
		}
	})
}

// bundleText describes a bundle before the user trusts it.
func bundleText(b protocol.Bundle, src string) string {
	var hosts, keys []string
	for _, h := range b.Hosts {
		hosts = append(hosts, net.JoinHostPort(h.Host, strconv.Itoa(h.SSLPort)))
		if h.Certificate != nil {
			keys = append(keys, fmt.Sprintf("%s: %s key, certificate SHA-256 %s", h.Host,
				h.Certificate.PublicKeyAlgorithm, protocol.SHA256Fingerprint(h.Certificate.Raw)))
		}
	}
	return fmt.Sprintf("Name: %s\nCountry: %s\nHosts: %s\nAnswers with: %s\nKeys:\n  %s\nFrom: %s\n\n"+
		"Trust a notary only if you got this file from someone you trust. It will be asked about every site you visit.",
		b.Name, regionName(b.Region), strings.Join(hosts, ", "), speaksWords(b), strings.Join(keys, "\n  "), src)
}
