package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// openProxyCore opens a core with its CA and proxy (secrets in memory) and serves the
// proxy on a loopback port until the test ends; it returns the proxy's address.
func openProxyCore(t *testing.T) (*Core, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Open(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Secrets: settings.NewMemorySecrets()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- c.Proxy.Serve(ctx, ln) }() // ends at cancel
	t.Cleanup(func() { cancel(); <-served; c.Close() })
	return c, ln.Addr().String()
}

// TestCheckPageReachesStatus: a client through the app's real proxy that trusts the
// local CA loads the check page, and Status says a browser came through trusted; one
// that does not trust it is counted, and Setup may no longer say "all set".
func TestCheckPageReachesStatus(t *testing.T) {
	c, addr := openProxyCore(t)
	changed := make(chan struct{}, 16)
	c.OnStatusChange(func() { changed <- struct{}{} })
	waitChanged := func() {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(20 * time.Second):
			t.Fatal("no status change")
		}
	}
	if b := c.Status().Browser; b.AllSet() || !b.TrustedAt.IsZero() {
		t.Fatalf("before any browser: %+v", b)
	}
	client := func(trustCA bool) *http.Client {
		cfg := &tls.Config{}
		if trustCA {
			cfg.RootCAs = x509.NewCertPool()
			cfg.RootCAs.AddCert(c.CA().Certificate())
		}
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr}), TLSClientConfig: cfg}}
	}
	req, _ := http.NewRequest("GET", localproxy.CheckURL, nil)
	req.Header.Set("User-Agent", "core-test/1")
	resp, err := client(true).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "You are protected") {
		t.Fatalf("check page: %s", body)
	}
	waitChanged()
	if b := c.Status().Browser; !b.AllSet() || b.TrustedBrowser != "core-test/1" {
		t.Fatalf("after a trusted visit: %+v", b)
	}

	if _, err := client(false).Get(localproxy.CheckURL); err == nil {
		t.Fatal("a client that does not trust the CA loaded the check page")
	}
	waitChanged() // Go's client sends bad_certificate on an unknown authority
	if b := c.Status().Browser; b.Untrusted != 1 || b.AllSet() || b.UntrustedHost != localproxy.CheckHost {
		t.Fatalf("after an untrusting visit: %+v", b)
	}
}

// portalServer runs a loopback HTTP server with handler h and returns its URL.
func portalServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// TestCaptivePortalProbe: the probe (a loopback HTTP server in the probe URL's place)
// tells a captive portal (a redirect, or a page that is not the expected answer) from
// an open network and from no network at all.
func TestCaptivePortalProbe(t *testing.T) {
	ok := portalServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "success\n") })
	redirect := portalServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://Wifi.Portal.Test/login?next=1", http.StatusFound)
	})
	injected := portalServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>Welcome to Hotel Wi-Fi, please sign in</html>")
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	dial := (&net.Dialer{}).DialContext
	for _, tc := range []struct {
		name, url, host, signIn string
		fails                   bool
	}{
		{"open network", ok + "/success.txt", "", "", false},
		{"redirected", redirect + "/success.txt", "wifi.portal.test", "https://Wifi.Portal.Test/login?next=1", false},
		{"other content", injected + "/success.txt", "127.0.0.1", injected + "/success.txt", false},
		{"no network", closed + "/success.txt", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := probePortal(context.Background(), dial, tc.url)
			if (err != nil) != tc.fails {
				t.Fatalf("probe: %v", err)
			}
			switch {
			case tc.host == "" && p != nil:
				t.Errorf("a portal where there is none: %+v", p)
			case tc.host != "" && (p == nil || p.Host != tc.host || p.SignInURL != tc.signIn):
				t.Errorf("portal %+v, want host %q at %q", p, tc.host, tc.signIn)
			}
		})
	}

	// Through the core: the setting points the probe at the redirecting server; a
	// verdict that found the notaries unreachable makes the core probe, and Status
	// says a captive portal is in the way.
	c, _ := openProxyCore(t)
	if _, err := c.UpdateSettings(context.Background(), func(s *settings.Settings) error {
		s.PortalProbeURL = redirect + "/success.txt"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 4)
	c.OnStatusChange(func() { changed <- struct{}{} })
	c.publish(verifier.Event{Kind: verifier.EventRejected, Time: time.Now(), Verdict: verifier.Verdict{
		Target: verifier.Target{Host: "shop.test", Port: 443}, Outcome: verifier.OutcomeRejected,
		Source: verifier.SourceNotaries, Code: verifier.ReasonUnreachable}})
	select {
	case <-changed:
	case <-time.After(20 * time.Second):
		t.Fatal("no status change after an unreachable verdict")
	}
	if st := c.Status().Portal; st.Portal == nil || st.Portal.Host != "wifi.portal.test" {
		t.Fatalf("Status().Portal = %+v", st)
	}
	if p, ok := c.portalFor(context.Background()); !ok || p.Host != "wifi.portal.test" {
		t.Errorf("the block page's hook: %+v %v", p, ok)
	}
}

// TestRefusalsCountedToldOnce: a browser that does not trust the authority refuses
// every site it opens; each refusal is counted, the listeners are told once (then
// again after untrustedQuiet), so the tray and Setup are not rebuilt per connection.
func TestRefusalsCountedToldOnce(t *testing.T) {
	_, c := openHistoryCore(t)
	told := 0
	c.OnStatusChange(func() { told++ })
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		c.noteCheck(localproxy.CheckVisit{Host: "shop.test", Alert: "unknown certificate authority", Time: at.Add(time.Duration(i) * time.Millisecond)})
	}
	if b := c.Status().Browser; b.Untrusted != 10 || told != 1 {
		t.Fatalf("10 refusals: counted %d, told %d times; want 10 and once", b.Untrusted, told)
	}
	c.noteCheck(localproxy.CheckVisit{Host: "shop.test", Time: at.Add(untrustedQuiet)})
	if told != 2 {
		t.Errorf("a refusal after %s: told %d times, want 2", untrustedQuiet, told)
	}
	c.noteCheck(localproxy.CheckVisit{Trusted: true, Time: at.Add(untrustedQuiet + time.Second)})
	c.noteCheck(localproxy.CheckVisit{Host: "other.test", Time: at.Add(untrustedQuiet + 2*time.Second)})
	if told != 4 {
		t.Errorf("the first refusal after a trusted visit was not told (%d)", told)
	}
}
