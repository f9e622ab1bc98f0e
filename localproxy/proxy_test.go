package localproxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

func TestProxyTrustedHTTP2AndHTTP1(t *testing.T) {
	r := startProxy(t, nil)
	for _, tc := range []struct {
		name      string
		siteH2    bool
		clientH2  bool
		wantMajor int
	}{
		{"h2 site, h2 client", true, true, 2},
		{"h1 site, h2 client", false, true, 1},
		{"h2 site, h1 client", true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, tc.siteH2)
			resp, body := get(t, r.client(tc.clientH2), "https://good.test:"+s.port()+"/")
			if resp.StatusCode != 200 || !strings.Contains(body, "hello from site") {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if resp.ProtoMajor != tc.wantMajor {
				t.Errorf("ProtoMajor = %d, want %d", resp.ProtoMajor, tc.wantMajor)
			}
			if !strings.Contains(body, fmt.Sprintf("HTTP/%d", tc.wantMajor)) {
				t.Errorf("site saw %q, want HTTP/%d", body, tc.wantMajor)
			}
			// The client saw our leaf; the Checker saw the site's real chain.
			if got := resp.TLS.PeerCertificates[0]; got.CheckSignatureFrom(r.ca.Certificate()) != nil {
				t.Errorf("client's certificate is not from the local CA")
			}
			r.checker.mu.Lock()
			chain := r.checker.chains["good.test"]
			r.checker.mu.Unlock()
			if len(chain) == 0 || !chain[0].Equal(s.Certificate()) {
				t.Errorf("Checker did not get the site's own certificate")
			}
		})
	}
}

func TestProxyRejectedSiteGetsBlockPage(t *testing.T) {
	var verdicts []verifier.Verdict
	var mu sync.Mutex
	r := startProxy(t, func(c *Config) {
		c.OnVerdict = func(v verifier.Verdict) { mu.Lock(); verdicts = append(verdicts, v); mu.Unlock() }
	})
	s := newSite(t, true)
	u := "https://bad.test:" + s.port() + "/submit"

	// A browser-like client: HTML block page, HTTP/1.1 even though it offered h2.
	req, _ := http.NewRequest("POST", u, strings.NewReader("password=hunter2"))
	req.Header.Set("Accept", "text/html")
	resp, err := r.client(true).Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get(HeaderVerdict) != "rejected" || resp.ProtoMajor != 1 ||
		resp.Header.Get(HeaderReason) != "notaries-disagree" {
		t.Fatalf("status %d verdict %q reason %q proto %s", resp.StatusCode, resp.Header.Get(HeaderVerdict), resp.Header.Get(HeaderReason), resp.Proto)
	}
	for _, want := range []string{"bad.test:" + s.port(), "notary-one", "disagree", "notary-two", "connection refused",
		"notaries saw a different certificate", "Someone may be intercepting", "Check my notaries", "Go back to safety"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("block page lacks %q", want)
		}
	}

	// A non-browser client gets a stable text line.
	resp, text := get(t, r.client(false), u)
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(text, "convergence: rejected: bad.test:"+s.port()+": ") {
		t.Errorf("text block: %d %q", resp.StatusCode, text)
	}
	if n, b := s.received(); n != 0 || b != 0 {
		t.Errorf("rejected site received %d requests, %d body bytes; want none", n, b)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(verdicts) != 2 || verdicts[0].Allowed() {
		t.Errorf("OnVerdict got %d verdicts: %+v", len(verdicts), verdicts)
	}
}

// TestProxyCheckerErrorIsBlocked: when no check can be made the site is blocked, and
// the proxy reports its own rejection (Source proxy) so that it reaches Activity.
func TestProxyCheckerErrorIsBlocked(t *testing.T) {
	var got verdicts
	r := startProxy(t, func(c *Config) { c.OnVerdict = got.add })
	s := newSite(t, false)
	resp, text := get(t, r.client(false), "https://broken.test:"+s.port()+"/")
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get(HeaderVerdict) != "error" ||
		!strings.Contains(text, "notary store unavailable") {
		t.Errorf("got %d %q %q", resp.StatusCode, resp.Header.Get(HeaderVerdict), text)
	}
	if n, _ := s.received(); n != 0 {
		t.Errorf("site received %d requests after a failed check", n)
	}
	if vd := got.waitFor(t, verifier.SourceProxy, 1)[0]; vd.Allowed() || !strings.Contains(vd.Reason, "notary store unavailable") {
		t.Errorf("reported verdict %+v; want the proxy's own rejection saying why", vd)
	}
}

func TestProxyPlainHTTP(t *testing.T) {
	var gotHop, gotEnd string
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHop, gotEnd = r.Header.Get("X-Hop"), r.Header.Get("X-End")
		io.WriteString(w, "plain ok "+r.URL.Path)
	}))
	defer plain.Close()
	r := startProxy(t, nil)
	req, _ := http.NewRequest("GET", plain.URL+"/x", nil)
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "1")
	req.Header.Set("X-End", "2")
	resp, err := r.client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "plain ok /x" {
		t.Errorf("body %q", b)
	}
	if gotHop != "" || gotEnd != "2" {
		t.Errorf("hop-by-hop header forwarded (X-Hop=%q) or end-to-end lost (X-End=%q)", gotHop, gotEnd)
	}
	if r.checker.callCount() != 0 {
		t.Errorf("plain HTTP asked the Checker")
	}
}

func TestProxyLocalPages(t *testing.T) {
	r := startProxy(t, nil)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, pac := get(t, c, "http://"+r.addr+"/proxy.pac")
	if resp.StatusCode != 200 || !strings.Contains(pac, `"PROXY `+r.addr+`"`) || strings.Contains(pac, "PROXY "+r.addr+"; DIRECT") {
		t.Errorf("PAC: %d %q", resp.StatusCode, pac)
	}
	_, pem := get(t, c, "http://"+r.addr+"/ca.pem")
	if pem != string(r.ca.CertPEM()) {
		t.Errorf("/ca.pem differs from CertPEM")
	}
	_, status := get(t, c, "http://"+r.addr+"/")
	if !strings.Contains(status, r.ca.Certificate().Subject.CommonName) {
		t.Errorf("status page %q", status)
	}
}

// echoServer accepts one connection, echoes until EOF, then half-closes.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // ends when the listener closes or after one connection
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	}()
	return ln.Addr().String()
}

// connect opens a CONNECT tunnel through the proxy and returns it after the 200.
func connect(t *testing.T, proxyAddr, target string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 || br.Buffered() != 0 {
		t.Fatalf("CONNECT %s: %v %v", target, err, resp)
	}
	return c
}

// allowAllCleartext lets every stream that is not TLS through, for tests of tunnels.
func allowAllCleartext(c *Config) { c.CleartextAllowed = func(string, int) bool { return true } }

func TestProxyNonTLSTunnelWithHalfClose(t *testing.T) {
	r := startProxy(t, allowAllCleartext)
	c := connect(t, r.addr, echoServer(t))
	defer c.Close()
	msg := "not TLS at all\n"
	io.WriteString(c, msg)
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c) // returns only if the echo's FIN came through
	if err != nil || string(got) != msg {
		t.Errorf("echo = %q, %v", got, err)
	}
	if r.checker.callCount() != 0 {
		t.Errorf("non-TLS tunnel asked the Checker")
	}
}

// directTLS opens a TLS session through a CONNECT tunnel and returns the leaf seen.
func tlsThroughTunnel(t *testing.T, proxyAddr, target, sni string) *tls.ConnectionState {
	c := connect(t, proxyAddr, target)
	defer c.Close()
	tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake through tunnel: %v", err)
	}
	st := tc.ConnectionState()
	return &st
}

func TestProxyPausedAndExemptPassThrough(t *testing.T) {
	s := newSite(t, false)
	var paused bool
	var mu sync.Mutex
	r := startProxy(t, func(c *Config) {
		c.Paused = func() bool { mu.Lock(); defer mu.Unlock(); return paused }
		c.Exempter = exemptHosts{"exempt.test": true}
	})
	target := "good.test:" + s.port()
	if st := tlsThroughTunnel(t, r.addr, target, "good.test"); st.PeerCertificates[0].Equal(s.Certificate()) {
		t.Fatalf("not paused, yet the site's own certificate came through")
	}
	calls := r.checker.callCount()
	mu.Lock()
	paused = true
	mu.Unlock()
	if st := tlsThroughTunnel(t, r.addr, target, "good.test"); !st.PeerCertificates[0].Equal(s.Certificate()) {
		t.Errorf("paused, yet the connection was intercepted")
	}
	mu.Lock()
	paused = false
	mu.Unlock()
	if st := tlsThroughTunnel(t, r.addr, "exempt.test:"+s.port(), "exempt.test"); !st.PeerCertificates[0].Equal(s.Certificate()) {
		t.Errorf("exempt destination was intercepted")
	}
	if got := r.checker.callCount(); got != calls {
		t.Errorf("Checker called %d times for paused/exempt connections", got-calls)
	}
}

type exemptHosts map[string]bool

func (e exemptHosts) Exempt(t verifier.Target) bool { return e[t.Host] }

func TestNewRefusesNonLoopback(t *testing.T) {
	ca := startProxy(t, nil).ca
	// Addresses here are data only: nothing is bound or dialed.
	for _, addr := range []string{"0.0.0.0:8118", "[::]:8118", "192.0.2.10:8118", ":8118", "example.com:8118"} {
		_, err := New(Config{Checker: &testChecker{}, CA: ca, Addr: addr})
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("New(Addr %q) err = %v, want ErrNotLoopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0", "127.1.2.3:0"} {
		if _, err := New(Config{Checker: &testChecker{}, CA: ca, Addr: addr}); err != nil {
			t.Errorf("New(Addr %q): %v", addr, err)
		}
	}
}

func TestProxyConcurrentConnectionsMintOnce(t *testing.T) {
	r := startProxy(t, noPool) // a verdict per connection, and no pool to share
	s := newSite(t, true)
	u := "https://together.test:" + s.port() + "/"
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			c := r.client(true) // a new transport each: a new connection each
			resp, err := c.Get(u)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := r.ca.leaves.mints.Load(); n != 1 {
		t.Errorf("minted %d leaves for 16 connections to one name, want 1", n)
	}
	if n := r.checker.callCount(); n != 16 {
		t.Errorf("Checker called %d times, want one per connection (16)", n)
	}
}

func TestProxyThroughUpstreamProxy(t *testing.T) {
	s := newSite(t, true)
	// The upstream proxy is a second real proxy, paused so that it only tunnels.
	up := startProxy(t, func(c *Config) { c.Paused = func() bool { return true } })
	r := startProxy(t, func(c *Config) {
		c.UpstreamProxy = &url.URL{Scheme: "http", Host: up.addr}
		c.DialContext = nil // the site's name must travel in the CONNECT, not be resolved here
	})
	// The inner proxy may not resolve *.test, so use the loopback IP.
	resp, body := get(t, r.client(true), "https://127.0.0.1:"+s.port()+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, "hello from site") || resp.ProtoMajor != 2 {
		t.Errorf("via upstream proxy: %d %s %q", resp.StatusCode, resp.Proto, body)
	}
	if r.checker.callCount() != 1 || up.checker.callCount() != 0 {
		t.Errorf("checker calls: proxy %d, upstream %d", r.checker.callCount(), up.checker.callCount())
	}
}

func TestServeStopsOnCancelWithoutLeaks(t *testing.T) {
	s := newSite(t, true)
	echo := echoServer(t)
	before := countGoroutines()

	r := startProxy(t, allowAllCleartext)
	c := r.client(true)
	get(t, c, "https://good.test:"+s.port()+"/") // leaves an idle h2 tunnel open
	open := connect(t, r.addr, echo)             // and a raw tunnel mid-stream
	defer open.Close()
	io.WriteString(open, "x")
	slow, err := net.Dial("tcp", r.addr) // and a client that never sends a header
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()

	r.stop(t)
	c.CloseIdleConnections()
	open.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(open); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("tunnel was not closed by Serve's end: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for countGoroutines() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	after := countGoroutines()
	if after > before {
		t.Errorf("goroutines: %d before, %d after Serve returned", before, after)
	}
	t.Logf("goroutines: %d before the proxy started, %d after Serve returned", before, after)
	if _, err := net.DialTimeout("tcp", r.addr, time.Second); err == nil {
		t.Errorf("listener still accepts after Serve returned")
	}
}

func countGoroutines() int { return runtime.NumGoroutine() }
