package ui

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
)

// TestSetupCheckShowsWhatTheProxySaw: the Setup tab never says "all set" before a
// browser came through the app's real proxy with the local authority trusted; after
// one did, step 4 says so; a browser that refuses the authority is shown, and told of
// in a notification. "Open the check page" opens the check page's URL.
func TestSetupCheckShowsWhatTheProxySaw(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- b.Proxy.Serve(ctx, ln) }() // the app's real proxy; ends at cancel
	t.Cleanup(func() { cancel(); <-served })

	changed := make(chan struct{}, 16)
	b.OnStatusChange(func() { changed <- struct{}{} }) // as main wires it, to RefreshStatus
	u, rec := newTestUI(t, b)
	var opened []string
	u.setup.check.openURL = func(l *url.URL) error { opened = append(opened, l.String()); return nil }
	selectTab(t, u, "Setup")
	if hasText(u.win, "All set") || !hasText(u.win, "Not checked yet") {
		t.Fatalf("before any browser: %s", visibleText(u.win))
	}
	tap(t, u, "Open the check page")
	if len(opened) != 1 || opened[0] != localproxy.CheckURL {
		t.Fatalf("opened %v", opened)
	}

	visit := func(trustCA bool) error {
		cfg := &tls.Config{}
		if trustCA {
			cfg.RootCAs = x509.NewCertPool()
			cfg.RootCAs.AddCert(b.CA().Certificate())
		}
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: ln.Addr().String()}), TLSClientConfig: cfg}}
		req, _ := http.NewRequest("GET", localproxy.CheckURL, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}
	if err := visit(true); err != nil {
		t.Fatal(err)
	}
	u.RefreshStatus() // as main does on the core's status change
	if !hasText(u.win, "Checked: a browser came through at") || !hasText(u.win, "Chrome/130.0") {
		t.Fatalf("after a trusted visit: %s", visibleText(u.win))
	}

	for len(changed) > 0 { // the trusted visit's
		<-changed
	}
	if err := visit(false); err == nil {
		t.Fatal("an untrusting client loaded the check page")
	}
	// The client gives up before the proxy has read its alert: wait for the proxy.
	select {
	case <-changed:
	case <-time.After(20 * time.Second):
		t.Fatal("the proxy did not note the untrusting client")
	}
	u.RefreshStatus()
	if !hasText(u.win, "Your browser does not trust Convergence's local authority yet") || hasText(u.win, "All set") {
		t.Fatalf("after an untrusting visit: %s", visibleText(u.win))
	}
	select {
	case n := <-rec.ch:
		if n.Title != "Your browser does not trust Convergence's local authority yet" || !strings.Contains(n.Body, localproxy.CheckHost) {
			t.Errorf("notification %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification about the untrusting browser")
	}
	u.RefreshStatus() // the same refusal again: told once
	select {
	case n := <-rec.ch:
		t.Errorf("a second notification: %+v", n)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestSetupShowsAllowancesAndEndsThem: a site let through from the block page is
// listed with its end, and "End now" ends it.
func TestSetupShowsAllowancesAndEndsThem(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	if _, err := b.Verifier.Allow("shop.test", 443, 10*time.Minute, "you allowed it from the block page"); err != nil {
		t.Fatal(err)
	}
	selectTab(t, u, "Setup")
	u.RefreshStatus()
	if !hasText(u.win, "shop.test:443, until") || !hasText(u.win, "you allowed it from the block page") {
		t.Fatalf("allowance not shown: %s", visibleText(u.win))
	}
	tap(t, u, "End now")
	if len(b.Allowances()) != 0 || hasText(u.win, "shop.test:443, until") {
		t.Fatalf("after End now: %v / %s", b.Allowances(), visibleText(u.win))
	}
}

// TestStatusNoticesOnce: a captive portal found is told of once, and again when
// another is found.
func TestStatusNoticesOnce(t *testing.T) {
	var n statusNotices
	now := time.Now()
	st := Status{}
	st.Portal.Portal = &localproxy.Portal{Host: "wifi.portal.test"}
	if got := n.next(st, now); len(got) != 1 || got[0].Title != "This network wants you to sign in" || !strings.Contains(got[0].Body, "wifi.portal.test") {
		t.Fatalf("portal: %+v", got)
	}
	if got := n.next(st, now); len(got) != 0 {
		t.Errorf("told twice: %+v", got)
	}
	st.Portal.Portal = nil
	n.next(st, now)
	st.Portal.Portal = &localproxy.Portal{Host: "wifi.portal.test"}
	if got := n.next(st, now); len(got) != 1 {
		t.Errorf("a portal back after it went was not told: %+v", got)
	}
}
