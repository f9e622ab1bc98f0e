package loadrig

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// pinChecker trusts exactly one certificate. It stands in for the verifier, whose
// cost is measured by the verifier's own benchmarks (cache hit and miss): here the
// proxy's cost per connection is what is measured, with the verdict a cache hit would
// give.
type pinChecker struct {
	cert  *x509.Certificate
	calls atomic.Int64
}

// Recheck is the memory-only recheck of pooled connections, as the verifier's cache
// hit gives it: the proxy then reuses its connections to the site, as in the app.
func (c *pinChecker) Recheck(_ context.Context, _ verifier.Target, chain []*x509.Certificate) bool {
	return len(chain) > 0 && chain[0].Equal(c.cert)
}

func (c *pinChecker) Verify(_ context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	c.calls.Add(1)
	v := verifier.Verdict{Target: t, Time: time.Now(), Source: verifier.SourceCache}
	if len(chain) > 0 && chain[0].Equal(c.cert) {
		v.Outcome, v.Reason = verifier.OutcomeTrusted, "pinned for the load run"
	} else {
		v.Outcome, v.Reason = verifier.OutcomeRejected, "not the load run's site"
	}
	return v, nil
}

// ProxyRig is a loopback TLS site, the real proxy in front of it, and an HTTP client
// that reaches the site through the proxy with a new CONNECT and client handshake per
// request; the proxy's connections to the site are reused, as in the app.
type ProxyRig struct {
	site       *httptest.Server
	handshakes atomic.Int64 // TLS handshakes the site has completed
	open       atomic.Int64 // connections the site has open now
	peak       atomic.Int64 // the most it had open at once: tunnels the proxy held at once
	checker    *pinChecker
	client     *http.Client
	url        string
	stop       func() // once
}

// StartProxy starts the rig; maxConns sets the proxy's Limits.MaxConns (0: the
// default the app uses). It stops when the test ends, or earlier with Stop.
func StartProxy(tb testing.TB, maxConns int) *ProxyRig {
	tb.Helper()
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the load site")
	}))
	site.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	r := &ProxyRig{site: site}
	site.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			cur := r.open.Add(1)
			for {
				p := r.peak.Load()
				if cur <= p || r.peak.CompareAndSwap(p, cur) {
					break
				}
			}
		case http.StateClosed, http.StateHijacked:
			r.open.Add(-1)
		}
	}
	site.TLS = &tls.Config{VerifyConnection: func(tls.ConnectionState) error { r.handshakes.Add(1); return nil }}
	site.StartTLS()
	siteAddr := site.Listener.Addr().String()
	_, sitePort, _ := net.SplitHostPort(siteAddr)

	ca, err := localproxy.LoadOrCreateCA(tb.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		tb.Fatal(err)
	}
	chk := &pinChecker{cert: site.Certificate()}
	p, err := localproxy.New(localproxy.Config{
		Checker: chk, CA: ca, Addr: "127.0.0.1:0", Limits: localproxy.Limits{MaxConns: maxConns},
		// Every name goes to the load site: the run stays on loopback.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if _, port, _ := net.SplitHostPort(addr); port != sitePort {
				return nil, errors.New("load dialer: only the load site")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, siteAddr)
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }() // ends when ctx is cancelled

	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	tr := &http.Transport{
		Proxy:             http.ProxyURL(&url.URL{Scheme: "http", Host: ln.Addr().String()}),
		TLSClientConfig:   &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}},
		DisableKeepAlives: true, // one CONNECT, one TLS handshake per request
		MaxConnsPerHost:   0,
	}
	var once sync.Once
	r.checker = chk
	r.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	r.url = "https://site.test:" + sitePort + "/"
	r.stop = func() {
		once.Do(func() {
			cancel()
			awaitServe(tb, done, "proxy")
			tr.CloseIdleConnections()
			site.Close()
		})
	}
	tb.Cleanup(r.stop)
	return r
}

// Stop stops the proxy and the site and waits for them; later calls do nothing.
func (r *ProxyRig) Stop() { r.stop() }

// Peak is the most connections the site has had open at once since the start or the
// last ResetPeak: the tunnels the proxy held at once.
func (r *ProxyRig) Peak() int64 { return r.peak.Load() }

// ResetPeak starts counting Peak again from zero.
func (r *ProxyRig) ResetPeak() { r.peak.Store(0) }

// CheckerCalls is how many verdicts the proxy has asked for.
func (r *ProxyRig) CheckerCalls() int64 { return r.checker.calls.Load() }

// SiteHandshakes is how many TLS handshakes the site has completed: the connections
// the proxy made to it (it reuses them for many clients).
func (r *ProxyRig) SiteHandshakes() int64 { return r.handshakes.Load() }

// Get makes one request through a new tunnel and checks the answer. It is safe for
// concurrent use.
func (r *ProxyRig) Get() error {
	resp, err := r.client.Get(r.url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("load site")) {
		return fmt.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	return nil
}
