package ui

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// serveDirectory signs a directory of real notary identities' entries (name, operator,
// country, network), serves it over HTTP on loopback, and points b's settings at it.
func serveDirectory(t *testing.T, b *storeBackend, rows ...[4]string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var entries []directory.Entry
	for i, r := range rows {
		host := fmt.Sprintf("10.7.0.%d", i+1)
		id, err := keys.LoadOrCreate(t.TempDir(), keys.KeyECDSA, []string{host})
		if err != nil {
			t.Fatal(err)
		}
		bd, err := id.Bundle(keys.BundleOptions{Name: r[0], Hosts: []string{host}})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := protocolMarshal(bd)
		if err != nil {
			t.Fatal(err)
		}
		e, err := directory.ParseEntry(fmt.Appendf(nil, `{"operator":%q,"country":%q,"network":%q,"contact":"mailto:ops@example.org","protocols":[1,2],"listed":"2026-11-0%d","bundle":%s}`,
			r[1], r[2], r[3], i+1, raw))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	body, err := directory.MarshalBody(directory.Directory{Name: "Test directory", Issued: time.Now(), Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	file, err := directory.Sign(body, priv)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(file) }))
	t.Cleanup(srv.Close)
	if _, err := b.UpdateSettings(ctxT(t), func(s *settings.Settings) error {
		s.DirectoryURLs, s.DirectoryKeys = []string{srv.URL}, []string{directory.PublicKey(pub).String()}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// check finds the chooser's check box for a notary.
func check(t *testing.T, u *UI, name string) *widget.Check {
	t.Helper()
	c := find(u.win, func(c *widget.Check) bool { return c.Text == name })
	if c == nil {
		t.Fatalf("no check box %q; on screen: %s", name, visibleText(u.win))
	}
	return c
}

// TestChooserFirstRun is the first run: no notary, the Setup tab's "Choose notaries
// for me" fetches the directory, picks three independent ones with why, shows the one
// left out and what it shares; picking it too warns that two are one notary; the
// filters narrow the list; Trust adds the picks, and Notaries and Setup warn.
func TestChooserFirstRun(t *testing.T) {
	b := newStoreBackend(t)
	serveDirectory(t, b,
		[4]string{"Alpha", "Alpha e.V.", "DE", "AS64500"},
		[4]string{"Beta", "Beta GmbH", "DE", "AS64500"},
		[4]string{"Gamma", "Gamma SA", "FR", "AS64501"},
		[4]string{"Delta", "Delta Inc", "US", "AS64502"})
	u, _ := newTestUI(t, b)
	if u.tabs.Selected().Text != "Setup" {
		t.Fatalf("first run opens on %q", u.tabs.Selected().Text)
	}
	tap(t, u, "Choose notaries for me")
	for name, want := range map[string]bool{"Alpha": true, "Gamma": true, "Delta": true, "Beta": false} {
		if got := check(t, u, name).Checked; got != want {
			t.Errorf("%s picked %v, want %v", name, got, want)
		}
	}
	for _, want := range []string{"Picked: the longest-listed notary", "Picked: independent of the others",
		"Not picked: shares network AS64500 with Alpha", "Independent: no two of these share"} {
		if !hasText(u.win, want) {
			t.Errorf("chooser lacks %q; on screen: %s", want, visibleText(u.win))
		}
	}

	test.Tap(check(t, u, "Beta"))
	waitIdle(t, u)
	if !hasText(u.win, `"Beta" and "Alpha" share network AS64500: these two are one notary as far as an attacker is concerned`) &&
		!hasText(u.win, `"Alpha" and "Beta" share network AS64500: these two are one notary as far as an attacker is concerned`) {
		t.Fatalf("picking Beta too: no warning; on screen: %s", visibleText(u.win))
	}
	if !hasText(u.win, "Picked by you: shares network AS64500 with Alpha") {
		t.Errorf("Beta's row does not say what it shares; on screen: %s", visibleText(u.win))
	}

	country := find(u.win, func(s *widget.Select) bool { return s.Selected == "All countries" })
	country.SetSelected("DE")
	waitIdle(t, u)
	if find(u.win, func(c *widget.Check) bool { return c.Text == "Gamma" }) != nil || check(t, u, "Beta") == nil {
		t.Fatalf("filter DE shows: %s", visibleText(u.win))
	}
	country.SetSelected("All countries")
	waitIdle(t, u)

	tap(t, u, "Trust the picks")
	ns, err := b.Notaries(ctxT(t))
	if err != nil || len(ns) != 4 {
		t.Fatalf("after Trust: %d notaries, %v", len(ns), err)
	}
	for _, n := range ns {
		if !strings.HasPrefix(n.Source, "directory:") {
			t.Errorf("%s came from %q", n.Name, n.Source)
		}
	}
	tap(t, u, "OK") // "Notaries added"
	if !hasText(u.win, "one notary as far as an attacker is concerned") {
		t.Errorf("Setup shows no warning: %s", visibleText(u.win))
	}
	selectTab(t, u, "Notaries")
	if !hasText(u.win, "share network AS64500: these two are one notary as far as an attacker is concerned, and count as one vote") {
		t.Errorf("Notaries shows no warning: %s", visibleText(u.win))
	}
}

// TestChooserModel drives the model alone: picks, reasons, filters.
func TestChooserModel(t *testing.T) {
	b := newStoreBackend(t)
	serveDirectory(t, b,
		[4]string{"Alpha", "Op", "DE", "AS1"},
		[4]string{"Beta", "Op", "FR", "AS2"})
	picks, err := b.ChooseNotaries(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := b.DirectoryEntries(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	m := newChooserModel(entries, picks)
	if len(m.pickedEntries()) != 1 || m.pickedEntries()[0].Name() != "Alpha" {
		t.Fatalf("picks %v", m.pickedEntries())
	}
	if why := m.why(entries[1]); !strings.Contains(why, "shares operator Op with Alpha") {
		t.Errorf("Beta: %q", why)
	}
	m.country = "FR"
	if v := m.visible(); len(v) != 1 || v[0].Name() != "Beta" {
		t.Errorf("FR: %v", v)
	}
	if got := m.values(func(e coreEntry) string { return e.Country }); strings.Join(got, ",") != "DE,FR" {
		t.Errorf("countries %v", got)
	}
}

type coreEntry = core.DirectoryEntry

func protocolMarshal(b protocol.Bundle) ([]byte, error) { return protocol.MarshalBundle(b) }

// TestAddFromFileShowsIndependence adds a notary from a file whose host is one the user
// trusts already under another name: the preview, before anything is trusted, says
// they are one notary; a notary elsewhere is said to be independent.
func TestAddFromFileShowsIndependence(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "notary.example.org"))
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Notaries")
	if hasText(u.win, "one notary as far as an attacker is concerned") {
		t.Fatalf("one notary alone is warned about: %s", visibleText(u.win))
	}
	u.notaries.importFrom(writeBundle(t, t.TempDir(), "Alpha Mirror", "notary.example.org"))
	waitIdle(t, u)
	if !hasText(u.win, `"Alpha Mirror" and "Alpha" share host notary.example.org: these two are one notary as far as an attacker is concerned`) {
		t.Fatalf("the preview does not say the two are one: %s", visibleText(u.win))
	}
	tap(t, u, "Cancel")
	u.notaries.importFrom(writeBundle(t, t.TempDir(), "Other", "other.example.org"))
	waitIdle(t, u)
	if !hasText(u.win, "Independent: it shares no host, address, operator or network with your other notaries.") {
		t.Fatalf("the preview of an independent notary: %s", visibleText(u.win))
	}
}

// TestKnownNameOtherKeys: a file with a trusted notary's name but another certificate
// opens the warning with both side by side; "Keep the old" changes nothing, "Replace
// with the new" takes it.
func TestKnownNameOtherKeys(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	old := notary(t, b, "Alpha").Hosts[0].CertificatePEM
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Notaries")
	path := writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org") // a new certificate
	u.notaries.importFrom(path)
	waitIdle(t, u)
	for _, want := range []string{"This notary's hosts or keys changed", "Trusted now", "In this file", "host alpha.example.org:443"} {
		if !hasText(u.win, want) {
			t.Fatalf("no %q: %s", want, visibleText(u.win))
		}
	}
	if button(t, u.win, "Keep the old").Importance != widget.HighImportance {
		t.Error("keeping the old is not the highlighted choice")
	}
	tap(t, u, "Keep the old")
	if notary(t, b, "Alpha").Hosts[0].CertificatePEM != old {
		t.Fatal("Keep the old changed the notary")
	}
	u.notaries.importFrom(path)
	waitIdle(t, u)
	tap(t, u, "Replace with the new")
	if notary(t, b, "Alpha").Hosts[0].CertificatePEM == old {
		t.Fatal("Replace with the new kept the old certificate")
	}
}

// TestChooserAsksForADirectory: with no directory set, "Choose notaries for me" asks
// for one, keeps it in the settings and goes on to the picks.
func TestChooserAsksForADirectory(t *testing.T) {
	b := newStoreBackend(t)
	serveDirectory(t, b, [4]string{"Alpha", "Alpha e.V.", "DE", "AS64500"}, [4]string{"Gamma", "Gamma SA", "FR", "AS64501"})
	st, err := b.Settings(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateSettings(ctxT(t), func(s *settings.Settings) error { s.DirectoryURLs, s.DirectoryKeys = nil, nil; return nil }); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, b)
	tap(t, u, "Choose notaries for me")
	if !hasText(u.win, "Choosing needs a notary directory") {
		t.Fatalf("no question for a directory: %s", visibleText(u.win))
	}
	entries := map[string]*tabEntry{}
	for _, ph := range []string{"https://directory.example.org/notaries.directory", "ed25519:…"} {
		entries[ph] = find(u.win, func(e *tabEntry) bool { return e.PlaceHolder == ph })
	}
	test.Type(entries["https://directory.example.org/notaries.directory"], st.DirectoryURLs[0])
	test.Type(entries["ed25519:…"], st.DirectoryKeys[0])
	tap(t, u, "Add and choose")
	if !check(t, u, "Alpha").Checked || !check(t, u, "Gamma").Checked {
		t.Fatalf("after adding the directory: %s", visibleText(u.win))
	}
	if got, _ := b.Settings(ctxT(t)); len(got.DirectoryURLs) != 1 || got.DirectoryKeys[0] != st.DirectoryKeys[0] {
		t.Fatalf("settings kept %+v", got)
	}
}
