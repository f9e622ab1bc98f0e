package localproxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/verifier"
)

// Issue 17 item 4: a site that asks for a client certificate is explained on the
// block page; verify without reading checks it with the proxy's own handshake and
// relays the app's TLS untouched, for the exact host:port decided.

// decided is the user's verify-without-reading decisions, as the app keeps them.
type decided struct {
	mu sync.Mutex
	m  map[string]bool
}

func (d *decided) has(host string, port int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[fmt.Sprintf("%s:%d", host, port)]
}

func (d *decided) add(host string, port int, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]bool{}
	}
	d.m[fmt.Sprintf("%s:%d", host, port)] = true
	return nil
}

func (d *decided) remove(hostPort string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, hostPort)
}

// mtlsSite is a real TLS site; with a client CA it requires a client certificate
// that CA issued. With two certificates it shows them in turn, one per connection.
type mtlsSite struct {
	*httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
}

func newMTLSSite(t *testing.T, clientCA *testcerts.Cert, maxVersion uint16, certs ...*testcerts.Cert) *mtlsSite {
	s := &mtlsSite{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		who := "nobody"
		if len(r.TLS.PeerCertificates) > 0 {
			who = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		io.WriteString(w, "hello "+who)
	}))
	s.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	s.TLS = &tls.Config{MaxVersion: maxVersion, NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := certs[int(s.conns.Add(1)-1)%len(certs)].TLS()
			return &c, nil
		}}
	if clientCA != nil {
		// RequireAnyClientCert and a check of our own: testcerts' leaves are for
		// servers, which Go's client-certificate check refuses.
		s.TLS.ClientAuth = tls.RequireAnyClientCert
		s.TLS.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			c, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			_, err = c.Verify(x509.VerifyOptions{Roots: clientCA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			return err
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// appClient is an app that goes through the proxy with CONNECT and checks the site
// itself (siteCA), presenting its client certificate when it has one.
func appClient(r *running, siteCA *testcerts.Cert, clientCert *testcerts.Cert, maxVersion uint16) *http.Client {
	cfg := &tls.Config{RootCAs: siteCA.Pool(), MaxVersion: maxVersion, NextProtos: []string{"http/1.1"}}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{clientCert.TLS()}
	}
	tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: r.addr}), TLSClientConfig: cfg}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

var passTokenRe = regexp.MustCompile(`action="https://check\.convergence\.invalid/passthrough">\s*<input type="hidden" name="token" value="([0-9a-f]+)"`)

func TestClientCertificateSiteBlockedThenVerifiedWithoutReading(t *testing.T) {
	siteCA, clientCA := testcerts.NewCA(t, "site CA"), testcerts.NewCA(t, "company CA")
	leaf := siteCA.Issue(t, testcerts.Options{}, "mtls.test")
	alice := clientCA.Issue(t, testcerts.Options{CommonName: "alice"}, "alice")
	var d decided
	r := startProxy(t, func(c *Config) { c.Passthrough = d.has; c.Pages.Passthrough = d.add })

	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			s := newMTLSSite(t, clientCA, v.max, leaf)
			site := fmt.Sprintf("mtls.test:%d", s.Listener.Addr().(*net.TCPAddr).Port)
			browser := r.client(false)
			browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

			// Through interception: the block page says why, and offers the way.
			req, _ := http.NewRequest("GET", "https://"+site+"/", nil)
			req.Header.Set("Accept", "text/html")
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatalf("GET through interception: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get(HeaderReason); got != string(verifier.ReasonClientCert) {
				t.Fatalf("reason %q, want %q; body:\n%s", got, verifier.ReasonClientCert, body)
			}
			for _, want := range []string{"This site asks your browser for a client certificate (a smart card or company certificate). Convergence cannot check such a site while reading the connection.",
				"convergence decisions passthrough " + site} {
				if !strings.Contains(string(body), want) {
					t.Errorf("block page lacks %q", want)
				}
			}
			m := passTokenRe.FindSubmatch(body)
			if m == nil {
				t.Fatalf("block page offers no passthrough button:\n%s", body)
			}
			if n := s.requests.Load(); n != 0 {
				t.Fatalf("the site got %d requests through interception, want 0", n)
			}
			// The plain-text variant says the same, with the command.
			_, text := get(t, browser, "https://"+site+"/")
			if !strings.Contains(text, "client certificate") || !strings.Contains(text, "convergence decisions passthrough "+site) {
				t.Errorf("text block page:\n%s", text)
			}

			// A forged token does nothing; the page's own makes the decision.
			if resp, err := browser.PostForm(CheckURL+"passthrough", url.Values{"token": {"00" + string(m[1][2:])}}); err != nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("forged token: %v %v, want 403", resp, err)
			}
			if d.has("mtls.test", s.Listener.Addr().(*net.TCPAddr).Port) {
				t.Fatal("a forged token made the decision")
			}
			resp, err = browser.PostForm(CheckURL+"passthrough", url.Values{"token": {string(m[1])}})
			if err != nil || resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("passthrough button: %v %v, want 303", resp, err)
			}
			resp.Body.Close()

			// Now the app's own mutual TLS goes through, checked by the proxy.
			calls := r.checker.callCount()
			_, got := get(t, appClient(r, siteCA, alice, v.max), "https://"+site+"/")
			if got != "hello alice" {
				t.Fatalf("through verify without reading: %q, want %q", got, "hello alice")
			}
			if r.checker.callCount() == calls {
				t.Error("the certificate was not judged by the Checker")
			}
		})
	}
}

// TestVerifyWithoutReadingCoversOnlyTheDecidedPort: a decision for one port of a
// name does not cover another port; removed, the site is intercepted again, and a
// relayed connection open under it is closed.
func TestVerifyWithoutReadingCoversOnlyTheDecidedPort(t *testing.T) {
	siteCA, clientCA := testcerts.NewCA(t, "site CA"), testcerts.NewCA(t, "company CA")
	leaf := siteCA.Issue(t, testcerts.Options{}, "mtls.test")
	alice := clientCA.Issue(t, testcerts.Options{CommonName: "alice"}, "alice")
	var d decided
	r := startProxy(t, func(c *Config) { c.Passthrough = d.has })
	s1 := newMTLSSite(t, clientCA, 0, leaf)
	s2 := newMTLSSite(t, clientCA, 0, leaf)
	p1, p2 := s1.Listener.Addr().(*net.TCPAddr).Port, s2.Listener.Addr().(*net.TCPAddr).Port
	d.add("mtls.test", p1, "")

	if _, got := get(t, appClient(r, siteCA, alice, 0), fmt.Sprintf("https://mtls.test:%d/", p1)); got != "hello alice" {
		t.Fatalf("decided port: %q", got)
	}
	resp, body := get(t, r.client(false), fmt.Sprintf("https://mtls.test:%d/", p2))
	if resp.Header.Get(HeaderReason) != string(verifier.ReasonClientCert) {
		t.Fatalf("the other port was not intercepted: %s %q", resp.Status, body)
	}

	// A connection open under the decision, then the decision removed.
	conn := connectThrough(t, r, fmt.Sprintf("mtls.test:%d", p1))
	tc := tls.Client(conn, &tls.Config{ServerName: "mtls.test", RootCAs: siteCA.Pool(), Certificates: []tls.Certificate{alice.TLS()}, NextProtos: []string{"http/1.1"}})
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: mtls.test\r\n\r\n")
	br := bufio.NewReader(tc)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("relayed request: %v %v", resp, err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	d.remove(fmt.Sprintf("mtls.test:%d", p1))
	tc.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound, far above the 1 s sweep
	_, err := br.ReadByte()
	if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
		t.Fatalf("the relayed connection stayed open after the decision was removed: %v", err)
	}
	resp, body = get(t, r.client(false), fmt.Sprintf("https://mtls.test:%d/", p1))
	if resp.Header.Get(HeaderReason) != string(verifier.ReasonClientCert) {
		t.Fatalf("after removal, not intercepted again: %s %q", resp.Status, body)
	}
}

// connectThrough opens a CONNECT tunnel to addr through the proxy.
func connectThrough(t *testing.T, r *running, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", addr, resp, err)
	}
	return c
}

// TestVerifyWithoutReadingBlockedWhenNotariesDisagree: the notaries reject the
// certificate the proxy saw: the app's connection is closed before it reaches the
// site, and the rejection is reported.
func TestVerifyWithoutReadingBlockedWhenNotariesDisagree(t *testing.T) {
	siteCA, clientCA := testcerts.NewCA(t, "site CA"), testcerts.NewCA(t, "company CA")
	leaf := siteCA.Issue(t, testcerts.Options{}, "bad-mtls.test")
	alice := clientCA.Issue(t, testcerts.Options{CommonName: "alice"}, "alice")
	var d decided
	var mu sync.Mutex
	var verdicts []verifier.Verdict
	r := startProxy(t, func(c *Config) {
		c.Passthrough = d.has
		c.OnVerdict = func(v verifier.Verdict) { mu.Lock(); verdicts = append(verdicts, v); mu.Unlock() }
	})
	s := newMTLSSite(t, clientCA, 0, leaf)
	port := s.Listener.Addr().(*net.TCPAddr).Port
	d.add("bad-mtls.test", port, "")
	_, err := appClient(r, siteCA, alice, 0).Get(fmt.Sprintf("https://bad-mtls.test:%d/", port))
	if err == nil {
		t.Fatal("a certificate the notaries reject went through")
	}
	if n := s.requests.Load(); n != 0 {
		t.Fatalf("the site got %d requests, want 0", n)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("the site saw %d TLS connections, want 1 (the proxy's probe only)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(verdicts) == 0 || verdicts[len(verdicts)-1].Allowed() {
		t.Errorf("no rejection reported: %+v", verdicts)
	}
}

// TestVerifyWithoutReadingComparesTheAppsCertificate: a site that shows one
// certificate to the proxy's probe and another to the app. With TLS 1.2 the relay
// reads the app's and cuts the connection; with TLS 1.3 it cannot (documented: the
// app is served, with the certificate nobody judged).
func TestVerifyWithoutReadingComparesTheAppsCertificate(t *testing.T) {
	siteCA := testcerts.NewCA(t, "site CA")
	a := siteCA.Issue(t, testcerts.Options{}, "pinned.test")
	b := siteCA.Issue(t, testcerts.Options{}, "pinned.test")
	var d decided
	r := startProxy(t, func(c *Config) { c.Passthrough = d.has })

	s12 := newMTLSSite(t, nil, tls.VersionTLS12, a, b)
	d.add("pinned.test", s12.Listener.Addr().(*net.TCPAddr).Port, "")
	_, err := appClient(r, siteCA, nil, tls.VersionTLS12).Get(fmt.Sprintf("https://pinned.test:%d/", s12.Listener.Addr().(*net.TCPAddr).Port))
	if err == nil {
		t.Fatal("TLS 1.2: the app was shown another certificate than the one judged, and the connection went on")
	}
	if n := s12.requests.Load(); n != 0 {
		t.Fatalf("TLS 1.2: the site got %d requests, want 0", n)
	}
	if n := s12.conns.Load(); n != 2 {
		t.Fatalf("TLS 1.2: the site saw %d connections, want 2 (probe, app)", n)
	}

	s13 := newMTLSSite(t, nil, tls.VersionTLS13, a, b)
	d.add("pinned.test", s13.Listener.Addr().(*net.TCPAddr).Port, "")
	resp, err := appClient(r, siteCA, nil, tls.VersionTLS13).Get(fmt.Sprintf("https://pinned.test:%d/", s13.Listener.Addr().(*net.TCPAddr).Port))
	if err != nil {
		t.Fatalf("TLS 1.3: %v", err)
	}
	defer resp.Body.Close()
	got := verifier.FingerprintSHA256(resp.TLS.PeerCertificates[0])
	if judged := verifier.FingerprintSHA256(a.Cert); got == judged {
		t.Fatal("TLS 1.3: the app got the judged certificate; the test site did not alternate")
	}
	// The documented limitation: the app was served the certificate nobody judged.
}

// TestServerCertWatchRefusesJunk: what comes before the certificate is refused.
func TestServerCertWatchRefusesJunk(t *testing.T) {
	w := &serverCertWatch{want: "x"}
	if err := w.feed(23, []byte("data")); err == nil {
		t.Error("application data before the certificate was let through")
	}
	w = &serverCertWatch{want: "x"}
	if err := w.feed(recordTypeHandshake, []byte{hsCertificate, 0, 0, 0}); err == nil {
		t.Error("a Certificate before ServerHello was let through")
	}
}

// TestVerifyWithoutReadingClosedWhenTheVerdictIsWithdrawn: a relayed connection is
// rechecked like a pooled one: when its certificate's verdict is withdrawn (a pin
// removed, a notary revoked), the sweep closes it.
func TestVerifyWithoutReadingClosedWhenTheVerdictIsWithdrawn(t *testing.T) {
	siteCA := testcerts.NewCA(t, "site CA")
	leaf := siteCA.Issue(t, testcerts.Options{}, "pinned.test")
	var d decided
	w := &withdrawable{}
	r := startProxy(t, func(c *Config) { c.Passthrough = d.has; c.Checker = w })
	s := newMTLSSite(t, nil, 0, leaf)
	d.add("pinned.test", s.Listener.Addr().(*net.TCPAddr).Port, "")

	conn := connectThrough(t, r, fmt.Sprintf("pinned.test:%d", s.Listener.Addr().(*net.TCPAddr).Port))
	tc := tls.Client(conn, &tls.Config{ServerName: "pinned.test", RootCAs: siteCA.Pool(), NextProtos: []string{"http/1.1"}})
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: pinned.test\r\n\r\n")
	br := bufio.NewReader(tc)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("relayed request: %v %v", resp, err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	w.withdrawn.Store(true)
	tc.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound, far above the 1 s sweep
	_, err := br.ReadByte()
	if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
		t.Fatalf("the relayed connection stayed open after its verdict was withdrawn: %v", err)
	}
}
