package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// curlRaw runs curl through the app's proxy in the client's namespace with args, and
// returns its output (headers and body with -i) and error.
func (a *app) curlRaw(args ...string) (string, error) {
	a.l.t.Helper()
	out, errOut, err := a.l.runIn(a.ns, os.Environ(), 90*time.Second, "curl",
		append([]string{"--silent", "--show-error", "--max-time", "60", "--proxy", "http://" + proxyAddr}, args...)...)
	return out + errOut, err
}

var portalTokenRE = regexp.MustCompile(`action="https://check\.convergence\.invalid/portal">\s*<input type="hidden" name="token" value="([0-9a-f]+)">`)

// Scenario 18 (issue 14 item 6): the network is behind a captive portal. The notaries
// cannot be reached, and the app's plain-HTTP probe (the portal-probe setting, pointed
// at the lab) is redirected to the portal's sign-in page. The block page, the
// notification and the tray say the network wants a sign-in; the block page's "Open
// the sign-in page" lets the portal's host alone through, unchecked, for 10 minutes.
func TestScenario18_CaptivePortal_SignInPageOffered(t *testing.T) {
	w := newWorld(t, "n1", "n2", "n3", "portal")
	portal := w.l.host("portal")
	w.l.name("probe.portal.test", portal.v4)
	w.l.name("wifi.portal.test", portal.v4)
	w.startShop()
	w.startNotaries("n1", "n2", "n3")
	pp := w.l.startIn(portal.ns, "portal", os.Environ(), bins.peer, "portal",
		"--listen", net.JoinHostPort(portal.v4.String(), "80"), "--to", "https://wifi.portal.test/login")
	pp.waitFor(t, listeningRE, 1, 20*time.Second)
	w.l.startSite("portal", "wifi", portal.v4, []leafCert{w.ca.issue(t, w.l.dir, "wifi", "wifi.portal.test")}, nil)
	labCA := filepath.Join(w.l.dir, "lab-ca.pem")
	w.l.writeFile(labCA, string(w.ca.ca.PEM()))

	d := w.startDesktop([2]string{"portal-probe", "http://probe.portal.test/success.txt"})
	for _, n := range w.notaries {
		n.proc.stop()
	}

	h := w.app.curlHTML(shopURL)
	m := portalTokenRE.FindStringSubmatch(h.body)
	if h.status != 403 || h.header.Get("X-Convergence-Reason") != "notaries-unreachable" || m == nil ||
		!strings.Contains(h.body, "wants you to sign in") || !strings.Contains(h.body, "wifi.portal.test") ||
		strings.Contains(strings.ToLower(h.body), "intercept") {
		t.Fatalf("block page (HTTP %d, reason %q):\n%s", h.status, h.header.Get("X-Convergence-Reason"), tail(h.body, 4000))
	}
	n := d.notification(t, "This network wants you to sign in")
	if !strings.Contains(n.Body, "wifi.portal.test") || strings.Contains(strings.ToLower(n.Body), "intercept") {
		t.Errorf("notification %+v", n)
	}
	want := "Notaries unreachable: 0 of 3 (the network wants a sign-in at wifi.portal.test)"
	if labels, err := d.menu(func(l []string) bool { return len(l) > 0 && l[0] == want }); err != nil {
		t.Errorf("tray menu %v: %v", labels, err)
	}

	// Before the button, the sign-in host is intercepted like any site: a client that
	// trusts only the lab's public CA sees the app's leaf and refuses it.
	if out, err := w.app.curlRaw("--cacert", labCA, "https://wifi.portal.test/login"); err == nil {
		t.Fatalf("the sign-in page passed unchecked before the button: %s", out)
	}
	out, err := w.app.curlRaw("-i", "--cacert", w.app.caFile, "--data", "token="+m[1], "https://check.convergence.invalid/portal")
	if err != nil || !strings.Contains(out, "303 See Other") || !strings.Contains(out, "Location: https://wifi.portal.test/login") {
		t.Fatalf("Open the sign-in page: %v\n%s", err, out)
	}
	// Now it is tunnelled untouched: the portal's own certificate reaches the client.
	if out, err := w.app.curlRaw("--cacert", labCA, "https://wifi.portal.test/login"); err != nil || !strings.Contains(out, "hello from wifi") {
		t.Errorf("the sign-in page after the button: %v\n%s", err, out)
	}
	// Nothing else is: the shop is still blocked.
	if p := w.app.curl(shopURL, ""); p.status != 403 {
		t.Errorf("the shop after the portal's allowance: HTTP %d", p.status)
	}
	// The button worked once.
	if out, _ := w.app.curlRaw("-i", "--cacert", w.app.caFile, "--data", "token="+m[1], "https://check.convergence.invalid/portal"); !strings.Contains(out, "403 Forbidden") {
		t.Errorf("the token worked twice:\n%s", out)
	}
}
