package localproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// panicWatch is a slog handler that remembers any record about a panic: net/http
// recovers a panicking handler and only logs it, so a fuzz target would not see it.
type panicWatch struct {
	mu     sync.Mutex // protects panics
	panics []string
}

func (w *panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *panicWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *panicWatch) WithGroup(string) slog.Handler            { return w }
func (w *panicWatch) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		w.mu.Lock()
		w.panics = append(w.panics, r.Message)
		w.mu.Unlock()
	}
	return nil
}

func (w *panicWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.panics
	w.panics = nil
	return p
}

// fuzzProxy starts a real proxy whose dialer reaches only one loopback TLS site:
// fuzzed requests name arbitrary hosts and ports, and nothing else may be dialled.
func fuzzProxy(tb testing.TB) (*running, *site, *panicWatch) {
	tb.Helper()
	s := newSite(tb, true)
	siteAddr := s.Listener.Addr().String()
	watch := &panicWatch{}
	r := startProxy(tb, func(c *Config) {
		c.Logger = slog.New(watch)
		c.Limits.MaxHeaderBytes = 8 << 10
		c.Limits.HeaderTimeout = 5 * time.Second
		c.Limits.HandshakeTimeout = 5 * time.Second
		c.Limits.IdleTimeout = 5 * time.Second
		c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			if port != s.port() {
				return nil, errors.New("fuzz dialer: only the test site")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, siteAddr)
		}
	})
	return r, s, watch
}

// exchange writes raw to a new connection to the proxy, half-closes it and reads
// everything the proxy sends back until it closes. The proxy's own limits in
// fuzzProxy are 5 s each, so a connection still open after 20 s is a hang: it fails
// the input, which the fuzzer then saves.
func exchange(tb testing.TB, addr string, raw []byte) []byte {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write(raw)
	c.(*net.TCPConn).CloseWrite()
	out, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		tb.Fatalf("the proxy kept the connection open 20 s after the client finished; it sent %q", out)
	}
	return out
}

// FuzzProxyRequest sends arbitrary bytes to a real proxy listener as an HTTP request
// stream: CONNECT lines, absolute-form requests, local requests, pipelines, garbage.
// The proxy must never panic and must keep serving.
func FuzzProxyRequest(f *testing.F) {
	r, s, watch := fuzzProxy(f)
	site := "127.0.0.1:" + s.port()
	for _, seed := range []string{
		"CONNECT good.test:" + s.port() + " HTTP/1.1\r\nHost: good.test\r\n\r\n",
		"CONNECT [::1]:" + s.port() + " HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"CONNECT good.test:0 HTTP/1.1\r\n\r\n",
		"GET http://" + site + "/ HTTP/1.1\r\nHost: " + site + "\r\n\r\n",
		"POST http://" + site + "/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://" + site + "/ HTTP/1.1\r\nHost: x\r\n X-Folded: y\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET /proxy.pac HTTP/1.1\r\nHost: x\r\n\r\nGET /ca.pem HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		exchange(t, r.addr, raw)
		if p := watch.take(); len(p) > 0 {
			t.Fatalf("proxy panicked on %q: %s", raw, p)
		}
	})
}

// clientHellos records real ClientHellos (one TLS record each, or more) as crypto/tls
// sends them, for seeds.
func clientHellos(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, cfg := range []*tls.Config{
		{ServerName: "good.test", NextProtos: []string{"h2", "http/1.1"}},
		{ServerName: "bad.test", MaxVersion: tls.VersionTLS12},
		{ServerName: "broken.test", NextProtos: []string{"spdy/3"}},
		{ServerName: ""},
		{ServerName: "127.0.0.1"},
	} {
		cfg.InsecureSkipVerify = true // never completes: only the first flight is kept
		rec := &recordConn{}
		tls.Client(rec, cfg).Handshake()
		out = append(out, rec.buf.Bytes())
	}
	return out
}

// recordConn keeps what is written to it and reads as closed: enough for a TLS client
// to send its ClientHello and give up.
type recordConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error)      { return c.buf.Write(p) }
func (c *recordConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (c *recordConn) Close() error                     { return nil }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// FuzzProxyClientHello sends a CONNECT to the loopback site and then arbitrary bytes
// where the ClientHello goes: the peek, the SNI and ALPN handling, the upstream
// handshake and the verdict must never panic, and the Checker may only see the
// site's own chain.
func FuzzProxyClientHello(f *testing.F) {
	r, s, watch := fuzzProxy(f)
	for _, h := range clientHellos(f) {
		f.Add("good.test:"+s.port(), h)
	}
	f.Add("127.0.0.1:"+s.port(), []byte("\x16\x03\x01\x00\x05hello"))
	f.Add("good.test:"+s.port(), []byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, target string, hello []byte) {
		if strings.ContainsAny(target, "\r\n") {
			return
		}
		raw := append([]byte("CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"), hello...)
		exchange(t, r.addr, raw)
		if p := watch.take(); len(p) > 0 {
			t.Fatalf("proxy panicked on CONNECT %q + %q: %s", target, hello, p)
		}
		r.checker.mu.Lock()
		defer r.checker.mu.Unlock()
		for host, chain := range r.checker.chains {
			if len(chain) == 0 || !bytes.Equal(chain[0].Raw, s.Certificate().Raw) {
				t.Fatalf("the Checker saw a chain for %q that is not the site's", host)
			}
			if _, err := normalizeServerName(host); err != nil {
				t.Fatalf("the Checker was asked about a bad name %q: %v", host, err)
			}
		}
	})
}

// FuzzConnectTarget checks the two name parsers of a CONNECT: the authority and the
// SNI. Accepted values must be usable as they are and stable when parsed again.
func FuzzConnectTarget(f *testing.F) {
	for _, s := range []string{"good.test:443", "[::1]:8443", "127.0.0.1:1", ":443", "a:0", "a:65536",
		"A.Test.:443", "[fe80::1%eth0]:443", "xn--d1acufc.xn--p1ai:443", "a..b:443", "x:+1", "x:0x1bb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, authority string) {
		if tg, err := parseTarget(authority); err == nil {
			if tg.Host == "" || tg.Port < 1 || tg.Port > 65535 {
				t.Fatalf("parseTarget(%q) accepted %+v", authority, tg)
			}
		}
		host, _, _ := net.SplitHostPort(authority)
		for _, name := range []string{authority, host} {
			n, err := normalizeServerName(name)
			if err != nil {
				continue
			}
			again, err := normalizeServerName(n)
			if err != nil || again != n {
				t.Fatalf("normalizeServerName(%q) = %q, then %q, %v", name, n, again, err)
			}
		}
	})
}
