package localproxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
)

// Issue 17 item 1: verified connections to sites are reused, per (host, port, SNI,
// ALPN); a verdict withdrawn closes the connections it covered; a pooled connection
// never serves a name it was not judged for.

// poolSite is a real TLS site that counts its TLS connections and the Host of every
// request; /poll?wait=D answers after D (or when the request is dropped).
type poolSite struct {
	*httptest.Server
	opened, closed atomic.Int64
	polling        chan struct{} // gets a value when a long-poll has arrived

	mu    sync.Mutex // protects hosts
	hosts []string
}

func newPoolSite(t *testing.T, h2 bool) *poolSite {
	s := &poolSite{polling: make(chan struct{}, 4)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hosts = append(s.hosts, r.Host)
		s.mu.Unlock()
		if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil {
			s.polling <- struct{}{}
			select {
			case <-time.After(d):
				io.WriteString(w, "the late answer")
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "hello from site "+r.Proto)
	}))
	s.EnableHTTP2 = h2
	s.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closed.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *poolSite) port() string { return portOf(s.Server) }

func (s *poolSite) sawHost(h string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, got := range s.hosts {
		if got == h {
			return true
		}
	}
	return false
}

// waitFor polls cond every 10 ms for at most 10 s (a guard, not a timed assertion).
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// clientFor returns a client through the proxy: HTTP/2 or HTTP/1.1, a kept-alive
// connection (fresh false) or a new connection for every request (fresh true).
func clientFor(r *running, h2, fresh bool) *http.Client {
	c := r.client(h2)
	c.Transport.(*http.Transport).DisableKeepAlives = fresh
	return c
}

func TestPoolReusesVerifiedConnections(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			s := newPoolSite(t, h2)
			chk := &withdrawable{}
			r := startProxy(t, func(c *Config) { c.Checker = chk })
			u := "https://good.test:" + s.port() + "/"
			for i := range 5 {
				resp, body := get(t, clientFor(r, h2, true), u) // a new client connection each time
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, "hello from site") {
					t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
				}
				if h2 && resp.ProtoMajor != 2 {
					t.Errorf("request %d: %s between client and proxy, want HTTP/2 as the site speaks it", i, resp.Proto)
				}
			}
			if n := s.opened.Load(); n != 1 {
				t.Errorf("the site saw %d connections for 5 client connections; want 1, reused", n)
			}
			if n := chk.callCount(); n != 5 {
				t.Errorf("Checker.Verify called %d times; want 5, a verdict (from the cache, in the app) for each client connection", n)
			}
			if n := chk.rechecks.Load(); n < 5 {
				t.Errorf("%d rechecks for 5 requests; want each rechecked", n)
			}
		})
	}
}

func TestPooledConnectionClosedWhenVerdictWithdrawn(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			s := newPoolSite(t, h2)
			chk := &withdrawable{}
			r := startProxy(t, func(c *Config) { c.Checker = chk })
			u := "https://good.test:" + s.port() + "/"
			kept := clientFor(r, h2, false)
			if resp, body := get(t, kept, u); resp.StatusCode != http.StatusOK {
				t.Fatalf("before: %d %q", resp.StatusCode, body)
			}
			// A long-poll in flight on the pool: a busy connection.
			type result struct {
				code int
				body string
				err  error
			}
			polled := make(chan result, 1)
			poller := clientFor(r, h2, true)
			poller.Timeout = 45 * time.Second
			go func() { // ends with the poll's answer, or the client's 45 s guard
				code, body, err := longPoll(poller, u+"poll?wait=40s")
				polled <- result{code, body, err}
			}()
			select {
			case <-s.polling:
			case <-time.After(10 * time.Second):
				t.Fatal("the long-poll did not reach the site")
			}

			chk.withdrawn.Store(true)
			// No request needed: the proxy's sweep sees the verdict gone.
			if !waitFor(func() bool { return s.closed.Load() == s.opened.Load() }) {
				t.Errorf("the site still has %d of its %d connections open after the verdict was withdrawn",
					s.opened.Load()-s.closed.Load(), s.opened.Load())
			}
			if res := <-polled; res.err == nil && res.code == http.StatusOK {
				t.Errorf("the long-poll got the site's answer %q (%d %v) after the verdict was withdrawn; want it cut", res.body, res.code, res.err)
			}
			resp, body := get(t, kept, u)
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get(HeaderVerdict) != "rejected" {
				t.Errorf("the kept client connection after the withdrawal: %d %q %v; want 403 with the verdict header", resp.StatusCode, body, resp.Header)
			}
			calls := chk.callCount()
			resp, body = get(t, clientFor(r, h2, true), u)
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get(HeaderVerdict) != "rejected" ||
				!strings.Contains(body, "the trust was withdrawn") || chk.callCount() != calls+1 {
				t.Errorf("a new client connection: %d %q (Checker calls %d → %d); want a new verdict and the block page",
					resp.StatusCode, body, calls, chk.callCount())
			}
		})
	}
}

// TestPoolNameConfusion: a pool made for good.test serves no other name: not a client
// that gives another SNI under the same CONNECT, not the same SNI under another
// CONNECT name, and not a request for another Host on a pooled connection.
func TestPoolNameConfusion(t *testing.T) {
	s := newPoolSite(t, false)
	r := startProxy(t, nil)
	target := "good.test:" + s.port()
	if resp, body := get(t, r.client(false), "https://"+target+"/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("good.test: %d %q", resp.StatusCode, body)
	}
	opened := s.opened.Load()

	// The same CONNECT, another SNI: judged for that name, and rejected.
	resp := rawThroughProxy(t, r, target, "bad.test", "bad.test")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get(HeaderVerdict) != "rejected" {
		t.Errorf("SNI bad.test under CONNECT %s: %d %v; want the block page", target, resp.StatusCode, resp.Header)
	}
	if s.opened.Load() != opened+1 {
		t.Errorf("SNI bad.test: the site saw %d new connections; want 1 of its own (judged, then closed)", s.opened.Load()-opened)
	}

	// The same SNI under another CONNECT name: a connection of its own.
	opened = s.opened.Load()
	other := "other.test:" + s.port()
	if resp := rawThroughProxy(t, r, other, "good.test", "good.test"); resp.StatusCode != http.StatusOK {
		t.Errorf("SNI good.test under CONNECT %s: %d", other, resp.StatusCode)
	}
	if s.opened.Load() != opened+1 {
		t.Errorf("SNI good.test under CONNECT %s: the site saw %d new connections; want 1 of its own, not good.test's pool",
			other, s.opened.Load()-opened)
	}

	// The pooled name, a request for another Host: refused, and never sent.
	resp = rawThroughProxy(t, r, target, "good.test", "bad.test")
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host bad.test on good.test's connection: %d; want 421", resp.StatusCode)
	}
	if s.sawHost("bad.test") {
		t.Error("the site got a request for Host bad.test over good.test's pool")
	}
}

// rawThroughProxy CONNECTs to target, runs TLS with the SNI sni and sends one GET with
// the Host host, and returns the answer (its body read).
func rawThroughProxy(t *testing.T, r *running, target, sni, host string) *http.Response {
	t.Helper()
	raw := connect(t, r.addr, target)
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	pool := x509.NewCertPool()
	pool.AddCert(r.ca.Certificate())
	tc := tls.Client(raw, &tls.Config{ServerName: sni, RootCAs: pool, NextProtos: []string{"http/1.1"}})
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatalf("GET Host %q with SNI %q under CONNECT %q: %v", host, sni, target, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestPoolStaleFirstConnectionClosed: a client that goes away during its handshake
// leaves the pool its first site connection unused; once that is older than
// seedFresh (shortened here), the sweep closes it, and the next client gets a new one
// rather than one the site may have dropped meanwhile.
func TestPoolStaleFirstConnectionClosed(t *testing.T) {
	defer func(d time.Duration) { seedFresh = d }(seedFresh)
	seedFresh = 100 * time.Millisecond
	s := newPoolSite(t, false)
	r := startProxy(t, nil)
	target := "good.test:" + s.port()
	raw := connect(t, r.addr, target)
	tc := tls.Client(raw, &tls.Config{ServerName: "good.test", RootCAs: x509.NewCertPool(), NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err == nil {
		t.Fatal("a client that trusts no CA finished its handshake")
	}
	raw.Close()
	if !waitFor(func() bool { return s.opened.Load() == 1 && s.closed.Load() == 1 }) {
		t.Fatalf("the unused first connection: site opened %d, closed %d; want it closed by the sweep", s.opened.Load(), s.closed.Load())
	}
	if resp, body := get(t, r.client(false), "https://"+target+"/"); resp.StatusCode != http.StatusOK {
		t.Errorf("the next client: %d %q", resp.StatusCode, body)
	}
	if s.opened.Load() != 2 {
		t.Errorf("the site saw %d connections; want a new one for the next client", s.opened.Load())
	}
}

// TestPoolOtherProtocolsKeepTheTunnel: a TLS client that offers no HTTP protocol in
// ALPN is not served by the proxy's HTTP server: its bytes go to the site as they
// are (here a line protocol over TLS, echoed back).
func TestPoolOtherProtocolsKeepTheTunnel(t *testing.T) {
	cert := testcerts.SelfSigned(t, "echo.test").TLS()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // ends when the listener is closed
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }() // ends when the client goes
		}
	}()
	r := startProxy(t, nil)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for i := range 2 { // the second would ride a pool if the first had made one
		raw := connect(t, r.addr, "echo.test:"+port)
		pool := x509.NewCertPool()
		pool.AddCert(r.ca.Certificate())
		tc := tls.Client(raw, &tls.Config{ServerName: "echo.test", RootCAs: pool})
		fmt.Fprintf(tc, "not HTTP %d\n", i)
		line, err := bufio.NewReader(tc).ReadString('\n')
		tc.Close()
		if err != nil || line != fmt.Sprintf("not HTTP %d\n", i) {
			t.Errorf("connection %d: echo %q, %v; want the line back through a tunnel", i, line, err)
		}
	}
}

// TestPooledWebSocketClosedWhenVerdictWithdrawn: a WebSocket opened over a pooled
// client connection has a site connection of its own; when the verdict is withdrawn,
// that one is closed too.
func TestPooledWebSocketClosedWhenVerdictWithdrawn(t *testing.T) {
	s := newStreamSites(t)
	chk := &withdrawable{}
	r := startProxy(t, func(c *Config) { c.Checker = chk })
	ws := dialWS(t, r, s, true)
	chk.withdrawn.Store(true)
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var got string
	if err := websocket.Message.Receive(ws, &got); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a WebSocket after its site's verdict was withdrawn: read %q, %v; want it closed by the proxy", got, err)
	}
}
