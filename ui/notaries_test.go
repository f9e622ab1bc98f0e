package ui

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestImportValidDuplicateAndRevokedAndMalformed(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	dir := t.TempDir()
	if !hasText(u.win, "Convergence: Not protecting: no notaries are set up") && u.win.Title() != "Convergence: Not protecting: no notaries are set up" {
		t.Errorf("title with no notaries = %q", u.win.Title())
	}

	// Valid: the bundle's details are shown before anything is trusted.
	path := writeBundle(t, dir, "Alpha Notary", "alpha.example.org")
	dropFile(t, u, path)
	if !hasText(u.win, "Name: Alpha Notary") || !hasText(u.win, "alpha.example.org:443") {
		t.Fatalf("preview does not show the bundle: %s", visibleText(u.win))
	}
	if ns, _ := b.store.Notaries(ctxT(t)); len(ns) != 0 {
		t.Fatalf("notary stored before the user said Trust: %+v", ns)
	}
	tap(t, u, "Trust")
	if n := notary(t, b, "Alpha Notary"); !n.Enabled || n.Revoked {
		t.Fatalf("imported notary: enabled=%v revoked=%v", n.Enabled, n.Revoked)
	}
	if !hasText(u.win, "Alpha Notary will be asked from now on.") {
		t.Fatalf("no confirmation: %s", visibleText(u.win))
	}
	tap(t, u, "OK")
	if !strings.HasPrefix(u.win.Title(), "Convergence: Protecting") {
		t.Errorf("title after import = %q", u.win.Title())
	}

	// Duplicate: the dialog says it updates the notary already trusted.
	dropFile(t, u, path)
	if !hasText(u.win, "You already trust a notary named Alpha Notary") {
		t.Fatalf("duplicate not recognised: %s", visibleText(u.win))
	}
	tap(t, u, "Update")
	tap(t, u, "OK")

	// Previously revoked: revoke, re-import, and the app asks before trusting again.
	if _, err := b.Revoke(ctxT(t), "Alpha Notary"); err != nil {
		t.Fatal(err)
	}
	u.notaries.reload()
	waitIdle(t, u)
	dropFile(t, u, path)
	tap(t, u, "Trust")
	if !hasText(u.win, "You stopped trusting this notary earlier") {
		t.Fatalf("no question for a revoked notary: %s", visibleText(u.win))
	}
	if !notary(t, b, "Alpha Notary").Revoked {
		t.Fatal("notary trusted again before the user confirmed")
	}
	tap(t, u, "Yes")
	if n := notary(t, b, "Alpha Notary"); n.Revoked {
		t.Fatal("notary still revoked after the user confirmed")
	}
	tap(t, u, "OK")
	b.mu.Lock()
	calls := strings.Join(b.calls, "; ")
	b.mu.Unlock()
	if !strings.Contains(calls, "confirm=false; import Alpha Notary.notary confirm=true") {
		t.Errorf("backend calls: %s", calls)
	}

	// Malformed: a plain-language error, nothing stored.
	bad := filepath.Join(dir, "broken.notary")
	if err := os.WriteFile(bad, []byte(`{"version": 1, "name": "x", "hosts": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dropFile(t, u, bad)
	if !hasText(u.win, "This is not a valid .notary file.") || !hasText(u.win, "Ask the notary's operator") {
		t.Fatalf("malformed bundle: %s", visibleText(u.win))
	}
	tap(t, u, "Close")
	if ns, _ := b.store.Notaries(ctxT(t)); len(ns) != 1 {
		t.Fatalf("notaries after a malformed import: %d, want 1", len(ns))
	}

	// A dropped file that is not a .notary file is explained, not imported.
	other := filepath.Join(dir, "photo.png")
	os.WriteFile(other, []byte("x"), 0o600)
	dropFile(t, u, other)
	if !hasText(u.win, "Drop a file whose name ends in .notary") {
		t.Fatalf("wrong file type: %s", visibleText(u.win))
	}
}

// TestImportTrustsWhatWasPreviewed changes the bundle file between the preview and the
// user's Trust: what is stored is the bundle that was shown, not what the file now says.
func TestImportTrustsWhatWasPreviewed(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	dir := t.TempDir()
	path := writeBundle(t, dir, "Alpha", "alpha.example.org")
	dropFile(t, u, path)
	if !hasText(u.win, "Name: Alpha") || !hasText(u.win, "alpha.example.org:443") {
		t.Fatalf("preview does not show Alpha: %s", visibleText(u.win))
	}
	shown, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file now holds another notary (Mallory, under Alpha's file name).
	other, err := os.ReadFile(writeBundle(t, t.TempDir(), "Mallory", "mallory.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, other, 0o600); err != nil {
		t.Fatal(err)
	}
	tap(t, u, "Trust")
	ns, err := b.store.Notaries(ctxT(t))
	if err != nil || len(ns) != 1 {
		t.Fatalf("stored notaries: %+v, %v; want Alpha alone", ns, err)
	}
	if n := ns[0]; n.Name != "Alpha" || len(n.Hosts) != 1 || n.Hosts[0].Host != "alpha.example.org" ||
		string(n.Bundle) != string(shown) || n.Source != "file:"+path {
		t.Fatalf("stored %q hosts %+v from %q, want the previewed Alpha from file:%s", n.Name, n.Hosts, n.Source, path)
	}
	if !hasText(u.win, "Alpha will be asked from now on.") {
		t.Fatalf("no confirmation: %s", visibleText(u.win))
	}
}

func TestRevokeAndUndo(t *testing.T) {
	b := newStoreBackend(t)
	dir := t.TempDir()
	ctx := ctxT(t)
	for _, name := range []string{"Alpha", "Beta"} {
		b.importFile(t, writeBundle(t, dir, name, strings.ToLower(name)+".example.org"))
	}
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Notaries")
	if len(u.notaries.rows.Objects) != 2 {
		t.Fatalf("notary cards = %d, want 2", len(u.notaries.rows.Objects))
	}
	// Tap Revoke on Alpha's card.
	card := find(u.win, func(c *widget.Card) bool { return c.Title == "Alpha" })
	if card == nil {
		t.Fatalf("no card for Alpha: %s", visibleText(u.win))
	}
	var revoke *widget.Button
	walk(card, func(o fyne.CanvasObject) bool {
		if b, ok := o.(*widget.Button); ok && b.Text == "Revoke" {
			revoke = b
			return true
		}
		return false
	})
	test.Tap(revoke)
	waitIdle(t, u)
	if !notary(t, b, "Alpha").Revoked {
		t.Fatal("Alpha not revoked after tapping Revoke")
	}
	if len(u.notaries.rows.Objects) != 1 || !hasText(u.win, "Revoked Alpha") {
		t.Fatalf("after revoke: %d cards, %s", len(u.notaries.rows.Objects), visibleText(u.win))
	}
	tap(t, u, "Undo")
	if notary(t, b, "Alpha").Revoked {
		t.Fatal("Alpha still revoked after Undo")
	}
	if len(u.notaries.rows.Objects) != 2 || u.notaries.undo.Visible() {
		t.Fatalf("after undo: %d cards, undo bar visible %v", len(u.notaries.rows.Objects), u.notaries.undo.Visible())
	}

	// Turning a notary off reaches the store.
	check := find(u.win, func(c *widget.Check) bool { return c.Text == "Ask this notary" })
	test.Tap(check)
	waitIdle(t, u)
	ns, _ := b.store.Notaries(ctx)
	off := 0
	for _, n := range ns {
		if !n.Enabled {
			off++
		}
	}
	if off != 1 {
		t.Fatalf("disabled notaries = %d, want 1", off)
	}
}

func TestImportFromURLWithUntrustedCertificate(t *testing.T) {
	b := newStoreBackend(t)
	dir := t.TempDir()
	data, err := os.ReadFile(writeBundle(t, dir, "Web Notary", "web.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	// A real HTTPS server on loopback whose certificate no system root vouches for:
	// the app must refuse the bundle and say why in plain words.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(data) }))
	defer srv.Close()
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Notaries")
	tap(t, u, "Add from URL…")
	e := urlField(t, u)
	typed := srv.URL + "/web.notary"
	test.Type(e, typed)
	pressKey(t, u, fyne.KeyReturn) // Enter submits
	// The dialog comes back with the URL as typed and what went wrong.
	if !hasText(u.win, "certificate could not be verified") || !hasText(u.win, "add it from the file") {
		t.Fatalf("untrusted https: %s", visibleText(u.win))
	}
	if e := urlField(t, u); e.Text != typed {
		t.Errorf("the URL field after the error holds %q, want %q", e.Text, typed)
	}
	tap(t, u, "Cancel")
	if ns, _ := b.store.Notaries(ctxT(t)); len(ns) != 0 {
		t.Fatalf("a bundle from an unverified server was stored: %+v", ns)
	}
}

// urlField finds the URL dialog's field.
func urlField(t *testing.T, u *UI) *escEntry {
	t.Helper()
	e := find(u.win, func(e *escEntry) bool { return strings.HasPrefix(e.PlaceHolder, "notary.example.org or https://") })
	if e == nil {
		t.Fatalf("no URL field: %s", visibleText(u.win))
	}
	if w := e.Size().Width; w < urlFieldWidth {
		t.Errorf("the URL field is %v wide, want at least %d", w, urlFieldWidth)
	}
	return e
}

// TestURLDialogCancelWhileFetching: a bare address is read as the notary's well-known
// URL; a notary that never answers can be given up on with Cancel, and the dialog comes
// back with the address as typed. The listener is real and holds the connection open.
func TestURLDialogCancelWhileFetching(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	accepted := make(chan struct{})
	go func() { // ends when ln closes
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			held = append(held, c) // never answered
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
		for _, c := range held {
			c.Close()
		}
	}()
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Notaries")
	tap(t, u, "Add from URL…")
	typed := ln.Addr().String() // no https://, no path
	test.Type(urlField(t, u), typed)
	test.Tap(button(t, u.win, "Next")) // not waitIdle: the read never ends by itself
	if !hasText(u.win, "Please wait…") {
		t.Fatalf("no progress while fetching: %s", visibleText(u.win))
	}
	tap(t, u, "Cancel")
	if e := urlField(t, u); e.Text != typed {
		t.Errorf("after Cancel the URL field holds %q, want %q", e.Text, typed)
	}
	if hasText(u.win, "Please wait…") {
		t.Error("the progress stayed after Cancel")
	}
	pressKey(t, u, fyne.KeyEscape) // Escape closes the dialog
	if find(u.win, func(e *escEntry) bool { return strings.HasPrefix(e.PlaceHolder, "notary.example.org") }) != nil {
		t.Error("Escape left the URL dialog open")
	}
}

func dropFile(t *testing.T, u *UI, path string) {
	t.Helper()
	u.notaries.dropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI(path)})
	waitIdle(t, u)
}
