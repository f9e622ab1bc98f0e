package localproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/verifier"
)

// slowChecker takes its time before the testChecker's verdict, like notaries that
// answer late or not at all.
type slowChecker struct {
	*testChecker
	delay time.Duration
}

func (c slowChecker) Verify(ctx context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return verifier.Verdict{}, ctx.Err()
	}
	return c.testChecker.Verify(ctx, t, chain)
}

// countingSite is a real HTTP/2 TLS site that counts the connections it accepts and
// can present a different certificate from its second connection on.
func countingSite(t *testing.T, certs ...tls.Certificate) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello over " + r.Proto))
	}))
	srv.EnableHTTP2 = true
	if len(certs) > 0 {
		// Chosen by SNI (the proxy always sends it), in the order given, per connection.
		srv.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			n := conns.Add(1)
			return &certs[min(int(n), len(certs))-1], nil
		}}
	} else {
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestSlowVerdictReconnects: a verdict that takes longer than redialAfter is followed
// by a fresh connection to the site (a silent one may have been dropped: Go's HTTP/2
// server does so after 10 s), and the same certificate needs no second verdict.
func TestSlowVerdictReconnects(t *testing.T) {
	old := redialAfter
	redialAfter = 50 * time.Millisecond
	t.Cleanup(func() { redialAfter = old })
	srv, conns := countingSite(t)
	var chk *testChecker
	r := startProxy(t, func(c *Config) {
		chk = c.Checker.(*testChecker)
		c.Checker = slowChecker{chk, 200 * time.Millisecond}
	})
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	resp, body := get(t, r.client(true), "https://slow.test:"+strconv.Itoa(port)+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "HTTP/2") {
		t.Fatalf("status %d body %q; want the site's page over HTTP/2", resp.StatusCode, body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the site saw %d connections; want 2 (the judged one, then a fresh one)", n)
	}
	if n := chk.callCount(); n != 1 {
		t.Errorf("the checker was asked %d times; want once (same certificate)", n)
	}
}

// TestSlowVerdictOtherCertificateJudgedAgain: when the fresh connection presents
// another certificate than the one judged, that one is judged too before any byte of
// the client's request is passed on.
func TestSlowVerdictOtherCertificateJudgedAgain(t *testing.T) {
	old := redialAfter
	redialAfter = 50 * time.Millisecond
	t.Cleanup(func() { redialAfter = old })
	// Throw-away certificates: the test checker judges by name, so no CA is needed.
	first, second := testcerts.SelfSigned(t, "slow2.test").TLS(), testcerts.SelfSigned(t, "slow2.test").TLS()
	srv, conns := countingSite(t, first, second)
	var chk *testChecker
	r := startProxy(t, func(c *Config) {
		chk = c.Checker.(*testChecker)
		c.Checker = slowChecker{chk, 200 * time.Millisecond}
	})
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	resp, _ := get(t, r.client(true), "https://slow2.test:"+strconv.Itoa(port)+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d; want 200 (the test checker trusts both certificates)", resp.StatusCode)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the site saw %d connections; want 2", n)
	}
	if n := chk.callCount(); n != 2 {
		t.Errorf("the checker was asked %d times; want 2 (two different certificates)", n)
	}
}
