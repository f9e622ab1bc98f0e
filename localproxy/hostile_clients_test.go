package localproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests complete hostile_test.go (malformed lines, an oversized header, a broken
// ClientHello, an idle client): many slow clients at once, request smuggling shapes on
// the plain-HTTP path, CONNECT to odd ports and to the proxy itself, and sites that
// reset the connection. Each checks that a normal client is served meanwhile.

// servedWhile fails the test unless a normal HTTPS request through the proxy
// succeeds. The client's 30 s timeout only guards against a hang.
func servedWhile(t *testing.T, r *running, s *site, what string) {
	t.Helper()
	resp, body := get(t, r.client(false), "https://good.test:"+s.port()+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "hello from site") {
		t.Fatalf("normal client during %s: %d %q", what, resp.StatusCode, body)
	}
}

// TestProxySlowlorisOthersServed opens 200 connections that trickle a request header
// one byte at a time. A normal client is served while they trickle, and the proxy
// closes every trickler once its header timeout passes.
func TestProxySlowlorisOthersServed(t *testing.T) {
	const conns = 200
	s := newSite(t, false)
	r := startProxy(t, func(c *Config) { c.Limits.HeaderTimeout = 2 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var started, closed atomic.Int32
	var wg sync.WaitGroup
	for i := range conns {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		wg.Go(func() { // ends when the proxy closes c, or after 300 bytes, or at ctx's end
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			started.Add(1)
			msg := "GET http://good.test/ HTTP/1.1\r\nX-Slow: " + strings.Repeat("a", 300)
			for j := range len(msg) {
				if _, err := c.Write([]byte{msg[j]}); err != nil {
					closed.Add(1)
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	servedWhile(t, r, s, "a slowloris attack")
	wg.Wait()
	if int(closed.Load()) != conns {
		t.Errorf("%d of %d trickling clients were closed by the proxy (want all: header timeout)", closed.Load(), conns)
	}
	servedWhile(t, r, s, "the aftermath")
}

// plainSite is a plain-HTTP site that records every whole request that reaches it.
type plainSite struct {
	*httptest.Server
	mu   sync.Mutex // protects reqs
	reqs []string
}

func newPlainSite(t *testing.T) *plainSite {
	p := &plainSite{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the proxy aborted the request mid-body: the site never got a whole request
		}
		var hdr []string
		for k, vs := range r.Header {
			for _, v := range vs {
				hdr = append(hdr, k+": "+v)
			}
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, fmt.Sprintf("%s %s te=%v cl=%d hdr=%q body=%q", r.Method, r.URL.Path, r.TransferEncoding, r.ContentLength, hdr, body))
		p.mu.Unlock()
		w.Header().Set("X-Site", "1")
		io.WriteString(w, "site saw "+r.URL.Path)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *plainSite) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.reqs
	p.reqs = nil
	return out
}

// TestProxySmugglingShapes sends the classic request smuggling shapes to the
// plain-HTTP forwarding path on one connection. The proxy must refuse the ambiguous
// ones, and for every request the site sees the client gets exactly one response
// from the site: no request hidden in a body reaches the site unseen.
func TestProxySmugglingShapes(t *testing.T) {
	site := newPlainSite(t)
	host := site.Listener.Addr().String()
	r := startProxy(t, nil)
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	chunkedEnd := "0\r\n\r\n"
	cases := []struct {
		name     string
		raw      string
		wantSite int  // requests the site must see
		refused  bool // the first response must be a 4xx/5xx from the proxy
	}{
		{"CL and TE", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: " +
			fmt.Sprint(len(chunkedEnd+smuggled)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedEnd + smuggled, -1, false},
		{"TE and CL", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" +
			chunkedEnd + smuggled, -1, false},
		{"two different Content-Lengths", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5\r\nContent-Length: " +
			fmt.Sprint(5+len(smuggled)) + "\r\n\r\nhello" + smuggled, 0, true},
		{"Content-Length list", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5, 40\r\n\r\nhello" + smuggled, 0, true},
		{"obs-fold Content-Length", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5\r\nX-Fold: a\r\n Content-Length: 40\r\n\r\nhello" + smuggled, -1, false},
		{"obs-fold first header", "GET http://" + host + "/a HTTP/1.1\r\n Host: evil\r\nHost: " + host + "\r\n\r\n", 0, true},
		{"space before colon", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nContent-Length : 40\r\n\r\nhello" + smuggled, 0, true},
		{"unknown Transfer-Encoding", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, 0, true},
		{"chunked not last", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + chunkedEnd + smuggled, 0, true},
		{"bad chunk size", "POST http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n" + smuggled, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			// The pipeline ends with a request for the proxy's own PAC file that closes
			// the connection; the client keeps its write half open, since net/http
			// abandons a request whose client has hung up.
			io.WriteString(conn, c.raw+"GET /proxy.pac HTTP/1.1\r\nHost: "+r.addr+"\r\nConnection: close\r\n\r\n")
			br := bufio.NewReader(conn)
			fromSite, codes := 0, []int{}
			for range 10 {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					break
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes = append(codes, resp.StatusCode)
				if resp.Header.Get("X-Site") == "1" {
					fromSite++
				}
			}
			seen := site.take()
			t.Logf("responses %v, site saw %q", codes, seen)
			if len(seen) != fromSite {
				t.Fatalf("the site saw %d requests but the client got %d responses from it: desync", len(seen), fromSite)
			}
			if c.wantSite >= 0 && len(seen) != c.wantSite {
				t.Errorf("the site saw %d requests, want %d", len(seen), c.wantSite)
			}
			if c.refused && (len(codes) == 0 || codes[0] < 400) {
				t.Errorf("ambiguous request was not refused: %v", codes)
			}
			for _, s := range seen {
				if strings.Contains(s, "te=[chunked] cl=") && !strings.Contains(s, "cl=-1") {
					t.Errorf("the site got both framings: %s", s)
				}
				if strings.Contains(s, "evil") {
					t.Errorf("a folded header reached the site: %s", s)
				}
			}
		})
	}
}

// TestProxyConnectOddPorts sends CONNECTs with odd ports. Malformed ports are refused
// with 400; a closed port gives the block page, not a hang; the Checker is not asked.
func TestProxyConnectOddPorts(t *testing.T) {
	s := newSite(t, false)
	r := startProxy(t, nil)
	closed := func() string { // a loopback port nobody listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		return p
	}()
	for _, target := range []string{"good.test:-1", "good.test:+443", "good.test:0x1bb", "good.test: 443", "good.test:",
		"good.test:1_000", "good.test:4294967739"} {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n", target)
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Errorf("CONNECT %q accepted", target)
		}
		c.Close()
	}
	// A closed port: the client's handshake finishes on the block page (502).
	resp, body := get(t, r.client(false), "https://good.test:"+closed+"/")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("closed port: %d %q, want the 502 block page", resp.StatusCode, body)
	}
	if r.checker.callCount() != 0 {
		t.Errorf("odd ports reached the Checker %d times", r.checker.callCount())
	}
	servedWhile(t, r, s, "odd CONNECTs")
}

// TestProxyConnectToItself nests CONNECTs to the proxy's own address: each level would
// hold two of the proxy's connection slots, so one client could fill them all. The
// proxy refuses to connect to itself.
func TestProxyConnectToItself(t *testing.T) {
	s := newSite(t, false)
	r := startProxy(t, func(c *Config) { c.Limits.MaxConns = 16 })
	_, port, _ := net.SplitHostPort(r.addr)
	for _, self := range []string{r.addr, "localhost:" + port, "[::1]:" + port, "good.test:" + port} {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		accepted := 0
		for range 32 { // nest until refused, at most 32 levels
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", self, self)
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
			if err != nil || resp.StatusCode != http.StatusOK {
				break
			}
			accepted++
		}
		c.Close()
		// The first 200 comes before the proxy dials anything (it waits for the
		// ClientHello, to dial with the same SNI); the nested CONNECT makes it dial.
		if accepted > 1 {
			t.Errorf("CONNECT %s (the proxy itself) nested %d levels deep", self, accepted)
		}
	}
	servedWhile(t, r, s, "self-CONNECTs")
}

// TestProxyUpstreamResets: a site that resets the connection during the handshake
// gets the block page (502), never a tunnel; a site that resets after the verdict,
// mid-request, ends the client's request with an error. Neither blocks others.
func TestProxyUpstreamResets(t *testing.T) {
	good := newSite(t, false)
	r := startProxy(t, nil)

	// Mid-handshake: read the ClientHello, then reset.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // ends when the listener closes
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			c.Read(make([]byte, 1024))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	_, hsPort, _ := net.SplitHostPort(ln.Addr().String())
	resp, body := get(t, r.client(false), "https://reset.test:"+hsPort+"/")
	if resp.StatusCode != http.StatusBadGateway || r.checker.callCount() != 0 {
		t.Errorf("reset mid-handshake: %d (checker calls %d) %q, want the 502 block page", resp.StatusCode, r.checker.callCount(), body)
	}

	// After the verdict: the site's TLS handshake completes, then it resets the
	// connection when the request arrives.
	after := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		conn.(*tls.Conn).NetConn().(*net.TCPConn).SetLinger(0)
		conn.Close()
	}))
	after.StartTLS()
	defer after.Close()
	_, afterPort, _ := net.SplitHostPort(after.Listener.Addr().String())
	calls := r.checker.callCount()
	// The proxy answers the request itself (pool.go): a site that resets gives the
	// proxy's 502, never anything of the site's.
	if resp, err := r.client(false).Get("https://after.test:" + afterPort + "/"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "failed to reach") {
			t.Errorf("reset after the verdict: got %d %q, want a failed request or the proxy's 502", resp.StatusCode, b)
		}
	}
	if r.checker.callCount() != calls+1 {
		t.Errorf("checker calls %d, want %d: the verdict came before the reset", r.checker.callCount(), calls+1)
	}
	servedWhile(t, r, good, "upstream resets")
}
