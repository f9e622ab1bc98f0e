package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/sessionbus"
)

// chromiumGNOME loads url in headless Chromium as a GNOME desktop starts it: no proxy
// flag at all, the session bus and dconf of bus, XDG_CURRENT_DESKTOP=GNOME, so that
// it takes its proxy from GNOME's settings. It trusts the app's local CA and the lab's
// public CA (as a browser trusts the CAs it ships), and returns the DOM.
func (a *app) chromiumGNOME(bus *sessionbus.Bus, url string, also *testCA) string {
	a.l.t.Helper()
	sum := sha256.Sum256(also.cert.RawSubjectPublicKeyInfo)
	spkis := a.spki + "," + base64.StdEncoding.EncodeToString(sum[:])
	scratch := a.l.t.TempDir()
	// XDG_CONFIG_HOME stays the bus's: dconf's clients read its database there.
	env := append(bus.Environ(), "XDG_CURRENT_DESKTOP=GNOME", "XDG_CACHE_HOME="+filepath.Join(scratch, "cache"))
	out, errOut, err := a.l.runIn(a.ns, env, 90*time.Second, chromium, "--headless", "--no-sandbox",
		"--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-breakpad", "--user-data-dir="+filepath.Join(scratch, "profile"),
		"--ignore-certificate-errors-spki-list="+spkis, "--dump-dom", url)
	if err != nil {
		a.l.t.Fatalf("chromium %s: %v\n%s\n%s", url, err, out, tail(errOut, 2000))
	}
	return out
}

// Scenario 20 (issue 14): Chromium started with GNOME's settings and no --proxy-server
// flag goes through the proxy once 'system-proxy enable' pointed GNOME at it (the
// shop's visit gets a verdict; then an attacker on the client's path gets the block
// page), and loads sites directly once the app quits (SIGTERM) and put the setting back:
// the attacker's page then shows, which only a direct connection can get.
func TestScenario20_ChromiumOnGNOMESettings_ThroughTheProxy_DirectAfterQuit(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium is not installed: this scenario is about what Chromium does with GNOME's settings")
	}
	w := newWorld(t, "n1", "n2")
	bus := desktopBus(t)
	gsettingsOn(t, bus, "set", "org.gnome.system.proxy", "mode", "'none'")
	before := proxySettings(t, bus)
	w.startShop()
	w.startNotaries("n1", "n2")

	w.app = w.l.newApp("client")
	for _, n := range w.notaries {
		w.app.cli("notary", "add", n.bundle)
	}
	env := append(bus.Environ(), "LANG=en_US.UTF-8")
	w.app.proc = w.l.startIn(w.app.ns, "convergence-gnome", env, bins.app, "--headless", "--listen", proxyAddr, "--data-dir", w.app.dir)
	w.app.proc.waitFor(t, regexp.MustCompile(`msg="proxy listening"`), 1, 30*time.Second)
	out, errOut, err := w.l.runIn(w.app.ns, env, time.Minute, bins.app, "--data-dir", w.app.dir, "--listen", proxyAddr, "system-proxy", "enable")
	if err != nil || !strings.Contains(out, "changed: GNOME") {
		t.Fatalf("system-proxy enable: %v\n%s\n%s", err, out, errOut)
	}
	if m, u := gnomeMode(t, bus); m != "'auto'" || u != "'http://"+proxyAddr+"/proxy.pac'" {
		t.Fatalf("after enable: mode %s, url %s", m, u)
	}

	// Through the proxy and trusting the local CA: the check page, which only the
	// proxy answers (the .invalid name never resolves), says so.
	if dom := w.app.chromiumGNOME(bus, "https://check.convergence.invalid/", w.ca); !strings.Contains(dom, ">You are protected</h1>") {
		t.Errorf("Chromium on GNOME's settings did not get the check page; DOM:\n%s", tail(dom, 3000))
	}

	// Through the proxy: the shop loads, and the app judged it.
	if dom := w.app.chromiumGNOME(bus, shopURL, w.ca); !strings.Contains(dom, "hello from shop") {
		t.Fatalf("Chromium on GNOME's settings did not show the shop; DOM:\n%s", tail(dom, 3000))
	}
	expectVerdict(t, w.app.verdict(shop+":443", 1), map[string]string{"outcome": "trusted", "source": "notaries"})

	// An attacker on the client's path, with a certificate the lab's CA issued for
	// another name on the shop's host: blocked. (Another name: the proxy may keep its
	// connection to the honest shop open, and reuse it, for the shop's name; it is
	// reset when the attacker takes the address, and the visit fails instead.)
	const other = "other.test"
	otherURL := "https://" + other + "/"
	w.l.name(other, w.shopAddr)
	cert := w.ca.issue(t, w.l.dir, "attacker-other", other)
	w.ca.mustValidate(t, cert, other)
	w.l.hijack("client", w.shopAddr)
	attacker := w.l.startSite("client", "attacker-client", w.shopAddr, []leafCert{cert}, nil)
	if dom := w.app.chromiumGNOME(bus, otherURL, w.ca); !strings.Contains(dom, `id="convergence-blocked"`) || strings.Contains(dom, "hello from attacker") {
		t.Errorf("Chromium on GNOME's settings did not get the block page; DOM:\n%s", tail(dom, 3000))
	}
	if r := attacker.requests(t); len(r) != 0 {
		t.Errorf("the attacker received %d requests through the proxy", len(r))
	}

	// Quit: the setting goes back, and Chromium connects directly.
	w.app.proc.stop()
	if err := w.app.proc.err; err != nil {
		t.Errorf("the app exited with %v after SIGTERM", err)
	}
	if after := proxySettings(t, bus); after != before {
		t.Fatalf("after Quit:\n%s\nwant, as before:\n%s", after, before)
	}
	if dom := w.app.chromiumGNOME(bus, otherURL, w.ca); !strings.Contains(dom, "hello from attacker") {
		t.Errorf("after Quit, Chromium did not load the site directly; DOM:\n%s", tail(dom, 3000))
	}
	// Chromium may ask for /favicon.ico too: the page's request is the one that counts.
	page := 0
	for _, r := range attacker.requests(t) {
		if r["path"] == "/" {
			page++
		}
	}
	if page != 1 {
		t.Errorf("the attacker's site received %d requests for / after Quit; want Chromium's one, direct: %v", page, attacker.requests(t))
	}
}
