package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dirEntry is what a directory says of one lab notary.
type dirEntry struct{ role, operator, country, network, listed string }

// Scenario 19: a signed directory of five notaries (three on one network), served over
// HTTP from a namespace of its own. A fresh app picks three independent ones in one
// step and verifies the shop through them; a tampered directory is refused with a
// clear message; with the directory server down, the copy held still lists the
// notaries, and the one picked from it that shares a network is warned about and
// counted with its twin as one vote.
func TestScenario19_SignedDirectory_ChooseIndependent_TamperRefused_CacheWhenDown(t *testing.T) {
	w := newWorld(t, "n1", "n2", "n3", "n4", "n5", "dir")
	w.startShop()
	w.startNotaries("n1", "n2", "n3", "n4", "n5")
	dirHost := w.l.host("dir")
	w.l.name("directory.test", dirHost.v4)

	// The operators' side, with the real notary binary: each entry, a key, the signature.
	entries := []dirEntry{
		{"n1", "One e.V.", "DE", "AS64501", "2026-01-01"},
		{"n2", "Two GmbH", "DE", "AS64501", "2026-01-02"}, // AS64501, like n1
		{"n3", "Three SA", "FR", "AS64502", "2026-01-03"},
		{"n4", "Four Inc", "US", "AS64503", "2026-01-04"},
		{"n5", "Five BV", "NL", "AS64501", "2026-01-05"}, // AS64501 too
	}
	var entryFiles []string
	for _, e := range entries {
		out, errOut, err := w.l.runIn(dirHost.ns, os.Environ(), time.Minute, bins.notary, "directory", "entry",
			"--bundle", filepath.Join(w.l.dir, e.role+".notary"), "--operator", e.operator, "--country", e.country,
			"--network", e.network, "--contact", "mailto:ops@"+e.role+".test", "--listed", e.listed)
		if err != nil {
			t.Fatalf("directory entry %s: %v\n%s", e.role, err, errOut)
		}
		f := filepath.Join(w.l.dir, e.role+".entry")
		w.l.writeFile(f, out)
		entryFiles = append(entryFiles, f)
	}
	keyFile := filepath.Join(w.l.dir, "directory.key")
	pub, errOut, err := w.l.runIn(dirHost.ns, os.Environ(), time.Minute, bins.notary, "directory", "keygen", "--out", keyFile)
	if err != nil {
		t.Fatalf("directory keygen: %v\n%s", err, errOut)
	}
	pub = strings.TrimSpace(pub)
	served := filepath.Join(w.l.dir, "directory.txt")
	if _, errOut, err := w.l.runIn(dirHost.ns, os.Environ(), time.Minute, bins.notary, append([]string{"directory", "sign",
		"--key", keyFile, "--name", "Lab notaries", "--out", served}, entryFiles...)...); err != nil {
		t.Fatalf("directory sign: %v\n%s", err, errOut)
	}
	good, err := os.ReadFile(served)
	if err != nil {
		t.Fatal(err)
	}
	server := w.l.startIn(dirHost.ns, "directory-server", os.Environ(), bins.peer, "file",
		"--listen", net.JoinHostPort(dirHost.v4.String(), "80"), "--path", "/notaries.directory", "--file", served)
	server.waitFor(t, listeningRE, 1, 20*time.Second)
	dirURL := "http://directory.test/notaries.directory"

	// A fresh app: its first run sets the directory and picks three in one step.
	w.app = w.l.newApp("client")
	w.app.cli("set", "directory-urls", dirURL)
	w.app.cli("set", "directory-keys", pub)
	chose := w.app.cli("notary", "choose")
	for _, want := range []string{"1. N1", "2. N3", "3. N4", `added notary "N1"`, `added notary "N3"`, `added notary "N4"`, "independent of the others"} {
		if !strings.Contains(chose, want) {
			t.Fatalf("notary choose: no %q in:\n%s", want, chose)
		}
	}
	if strings.Contains(chose, "warning:") || strings.Contains(chose, "N2") || strings.Contains(chose, "N5") {
		t.Fatalf("notary choose picked a notary on N1's network, or warned:\n%s", chose)
	}

	// The shop verified through the three, under "all": each one is a vote.
	w.app.cli("set", "threshold", "all")
	w.app.start()
	if p := w.app.curl(shopURL, ""); p.status != 200 || !strings.Contains(p.body, "hello from shop") {
		t.Fatalf("visit through the chosen notaries: HTTP %d, body %q", p.status, p.body)
	}
	expectVerdict(t, w.app.verdict(shop+":443", 1), map[string]string{"outcome": "trusted", "source": "notaries", "agreed": "3", "asked": "3"})

	// A tampered directory (one network changed, the signature kept): refused, the
	// copy held kept.
	w.l.writeFile(served, strings.Replace(string(good), `"AS64502"`, `"AS64501"`, 1))
	out, errOut, err := w.l.runIn(w.app.ns, appEnv(), time.Minute, bins.app, "--data-dir", w.app.dir, "directory", "refresh")
	if err == nil || !strings.Contains(errOut, "signature does not verify") || !strings.Contains(errOut, "hint: the directory was changed after it was signed") ||
		!strings.Contains(out, "still using the copy held") {
		t.Fatalf("tampered directory: err %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}

	// The server down: the copy held lists the five, and choosing goes on from it. The
	// two left are on N1's network, and N2 in its country too: N5 is picked with the
	// reason, warned about, and counted with N1 as one vote.
	server.stop()
	if _, errOut, err := w.l.runIn(w.app.ns, appEnv(), time.Minute, bins.app, "--data-dir", w.app.dir, "directory", "refresh"); err == nil ||
		!strings.Contains(errOut, "the copies held are still used") {
		t.Fatalf("server down: refresh err %v, stderr:\n%s", err, errOut)
	}
	list := w.app.cli("directory", "list")
	for _, n := range []string{"N1", "N2", "N3", "N4", "N5", "Lab notaries"} {
		if !strings.Contains(list, n) {
			t.Fatalf("directory list with the server down: no %s in:\n%s", n, list)
		}
	}
	more := w.app.cli("notary", "choose", "--count", "1")
	if !strings.Contains(more, "1. N5") || !strings.Contains(more, "network AS64501") ||
		!strings.Contains(more, "one notary as far as an attacker is concerned") {
		t.Fatalf("choosing from the copy held:\n%s", more)
	}
	// The running app takes the new notary and its facts from the store within a
	// second; the cache cleared, the next visit asks the four, as three votes.
	w.app.cli("cache", "clear")
	grouped := func() bool {
		if p := w.app.curl(shopURL, ""); p.status != 200 {
			return false
		}
		last := w.app.lines("verdict", shop+":443")
		v := last[len(last)-1]
		return v["source"] == "notaries" && v["asked"] == "3" && strings.Contains(v["reason"], "4 notaries asked count as 3 votes: N1 + N5")
	}
	if !w.eventually(grouped) {
		last := w.app.lines("verdict", shop+":443")
		t.Fatalf("with N5 added, N1 and N5 are not one vote; last verdict %v", last[len(last)-1])
	}
}
