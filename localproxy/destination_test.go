package localproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// elsewhere is the address the sites of these tests pretend to be at.
var elsewhere = netip.MustParseAddr("198.51.100.20")

// farConn is a real loopback connection that reports elsewhere as its remote
// address: a fake, because a test may reach loopback only, and every loopback
// address is exempt; the site behind it is real.
type farConn struct{ net.Conn }

func (c farConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: elsewhere.AsSlice(), Port: c.Conn.RemoteAddr().(*net.TCPAddr).Port}
}

// recordingChecker passes to a real verifier and keeps the targets it was asked about.
type recordingChecker struct {
	v       *verifier.Verifier
	mu      sync.Mutex // protects targets
	targets []verifier.Target
}

func (c *recordingChecker) Verify(ctx context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	c.mu.Lock()
	c.targets = append(c.targets, t)
	c.mu.Unlock()
	return c.v.Verify(ctx, t, chain)
}

func newRealVerifier(t *testing.T) *verifier.Verifier {
	t.Helper()
	ctx := context.Background()
	st, err := settings.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := verifier.New(ctx, verifier.Config{Store: st, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// TestExemptNameOnConnectElsewhereIsChecked: a client CONNECTs to a site elsewhere and
// names "localhost" (or a loopback literal) in TLS. The name is what is checked, but
// the exemption goes by the address dialled: the real verifier is asked, does not
// exempt it, and the site gets nothing (issue 12, door 6). The same name on a CONNECT
// to this machine is still exempt.
func TestExemptNameOnConnectElsewhereIsChecked(t *testing.T) {
	s := newSite(t, false)
	chk := &recordingChecker{v: newRealVerifier(t)}
	r := startProxy(t, func(c *Config) {
		c.Checker = chk
		c.Exempter = chk.v
		c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			var d net.Dialer
			conn, err := d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
			if err != nil || host == "127.0.0.1" || host == "::1" {
				return conn, err
			}
			return farConn{conn}, nil // every name is a site elsewhere
		}
	})
	// (A loopback literal as SNI is in verifier's table: Go's client sends no IP SNI.)
	for _, sni := range []string{"localhost", "app.localhost", "LocalHost"} {
		resp, body := getVia(t, r, "far.test:"+s.port(), sni)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "hello from site") {
			t.Errorf("CONNECT far.test with SNI %q: %d %q; want the block page", sni, resp.StatusCode, body)
		}
	}
	if n, _ := s.received(); n != 0 {
		t.Errorf("the site elsewhere received %d requests; want none", n)
	}
	chk.mu.Lock()
	for _, tg := range chk.targets {
		if tg.Addr != elsewhere {
			t.Errorf("the Checker was asked about %+v; want the address dialled, %s", tg, elsewhere)
		}
	}
	chk.mu.Unlock()

	// CONNECT to this machine, by name or literal: exempt, so tunnelled untouched.
	for _, target := range []string{"localhost:" + s.port(), "127.0.0.1:" + s.port(), "LocalHost.:" + s.port()} {
		st := tlsThroughTunnel(t, r.addr, target, "localhost")
		if !st.PeerCertificates[0].Equal(s.Certificate()) {
			t.Errorf("CONNECT %s was intercepted; a loopback destination is exempt", target)
		}
	}
}

// TestExemptNameThroughUpstreamProxyIsRefused: through an upstream proxy the address
// a name leads to is unknown, so a TLS name that exemptions would take by itself
// (localhost, an address) on a CONNECT to another name is refused by the proxy.
func TestExemptNameThroughUpstreamProxyIsRefused(t *testing.T) {
	s := newSite(t, false)
	up := startProxy(t, func(c *Config) { c.Paused = func() bool { return true } })
	var got verdicts
	r := startProxy(t, func(c *Config) {
		c.Checker = newRealVerifier(t)
		c.UpstreamProxy = &url.URL{Scheme: "http", Host: up.addr}
		c.DialContext = nil
		c.OnVerdict = got.add
	})
	resp, body := getVia(t, r, "far.test:"+s.port(), "localhost")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "means this machine") {
		t.Errorf("SNI localhost on CONNECT far.test through an upstream proxy: %d %q; want refused", resp.StatusCode, body)
	}
	if n, _ := s.received(); n != 0 {
		t.Errorf("the site received %d requests; want none", n)
	}
	if vd := got.waitFor(t, verifier.SourceProxy, 1)[0]; vd.Allowed() || vd.Target.Host != "localhost" {
		t.Errorf("verdict %+v; want localhost rejected by the proxy itself", vd)
	}
}

// getVia CONNECTs to target, speaks TLS naming sni (trusting the proxy's CA) and GETs
// /, returning the response and its body.
func getVia(t *testing.T, r *running, target, sni string) (*http.Response, string) {
	t.Helper()
	c := connect(t, r.addr, target)
	defer c.Close()
	pool := x509.NewCertPool()
	pool.AddCert(r.ca.Certificate())
	tc := tls.Client(c, &tls.Config{ServerName: sni, RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS naming %q through CONNECT %s: %v", sni, target, err)
	}
	io.WriteString(tc, "GET / HTTP/1.1\r\nHost: "+sni+"\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatalf("read the answer naming %q: %v", sni, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
