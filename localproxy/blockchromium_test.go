package localproxy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// TestBlockPagesInChromium: real Chromium through the real proxy shows the block page
// of an outage and of a disagreement as a user sees them, with the words of each and
// the safe button focused; and the check page says "You are protected". With
// CONVERGENCE_SCREENSHOTS set to a directory, it also saves a screenshot of the block
// page for every reason, of an outage behind a captive portal and of the check page
// (how docs/screenshots were made).
func TestBlockPagesInChromium(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium not installed")
	}
	if testing.Short() {
		t.Skip("slow: starts a browser")
	}
	portal := false
	r := startProxy(t, func(c *Config) {
		c.Checker = codeChecker{}
		c.Pages.Allow = func(string, int, time.Duration, string) error { return nil }
		c.Pages.Portal = func(context.Context) (Portal, bool) {
			return Portal{SignInURL: "http://wifi.hotel.test/login", Host: "wifi.hotel.test"}, portal
		}
	})
	s := newSite(t, false)
	spki := sha256.Sum256(r.ca.Certificate().RawSubjectPublicKeyInfo)
	run := func(url string, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
			"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--proxy-server=http://" + r.addr, "--hide-scrollbars",
			"--ignore-certificate-errors-spki-list=" + base64.StdEncoding.EncodeToString(spki[:])}, append(args, url)...)...)
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %s: %v\n%s", url, err, out)
		}
		return string(out)
	}
	siteURL := func(code verifier.ReasonCode) string { return "https://" + string(code) + ".test:" + s.port() + "/" }

	dom := run(siteURL(verifier.ReasonUnreachable), "--dump-dom")
	if !strings.Contains(dom, `data-reason="notaries-unreachable"`) || !strings.Contains(dom, "can't reach your notaries") ||
		strings.Contains(strings.ToLower(dom), "intercept") || !strings.Contains(dom, `id="retry" autofocus`) {
		t.Errorf("outage in Chromium, DOM:\n%s", dom)
	}
	dom = run(siteURL(verifier.ReasonDisagree), "--dump-dom")
	if !strings.Contains(dom, `data-reason="notaries-disagree"`) || !strings.Contains(dom, "Someone may be intercepting") ||
		!strings.Contains(dom, `id="go-back" autofocus`) || strings.Contains(dom, "unchecked for 10 minutes") {
		t.Errorf("attack in Chromium, DOM:\n%s", dom)
	}
	if dom = run(CheckURL, "--dump-dom"); !strings.Contains(dom, ">You are protected</h1>") {
		t.Errorf("check page in Chromium, DOM:\n%s", dom)
	}

	dir := os.Getenv("CONVERGENCE_SCREENSHOTS")
	if dir == "" {
		return
	}
	shot := func(name, url string) {
		path := filepath.Join(dir, name+".png")
		run(url, "--window-size=1000,900", "--screenshot="+path)
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			t.Errorf("no screenshot %s: %v", path, err)
		}
	}
	for _, code := range []verifier.ReasonCode{verifier.ReasonUnreachable, verifier.ReasonDisagree, verifier.ReasonImpersonated,
		verifier.ReasonBelowThreshold, verifier.ReasonRefusedTunnel} {
		shot("block-"+string(code), siteURL(code))
	}
	shot("check-page", CheckURL)
	portal = true
	shot("block-captive-portal", siteURL(verifier.ReasonUnreachable))
}
