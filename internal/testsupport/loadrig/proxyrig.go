package loadtest

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

// proxyRig is a loopback TLS site, the real proxy in front of it, and an HTTP client
// that reaches the site through the proxy with a new CONNECT tunnel per request.
type proxyRig struct {
	site    *httptest.Server
	open    atomic.Int64 // connections the site has open now
	peak    atomic.Int64 // the most it had open at once: tunnels the proxy held at once
	checker *pinChecker
	client  *http.Client
	url     string
	stop    func()
}

// startProxyRig starts the rig; maxConns sets the proxy's Limits.MaxConns (0: the
// default the app uses).
func startProxyRig(tb testing.TB, maxConns int) *proxyRig {
	tb.Helper()
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the load site")
	}))
	site.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	r := &proxyRig{site: site}
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

// get makes one request through a new tunnel and checks the answer.
func (r *proxyRig) get() error {
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

// run makes n requests from conc goroutines at once and returns the first error and
// the peak number of requests in flight.
func run(n, conc int, do func() error) (peak int64, err error) {
	var next, inflight, top atomic.Int64
	var mu sync.Mutex // protects err
	var wg sync.WaitGroup
	for range min(n, conc) {
		wg.Go(func() { // ends when n requests have been taken
			for next.Add(1) <= int64(n) {
				cur := inflight.Add(1)
				for {
					p := top.Load()
					if cur <= p || top.CompareAndSwap(p, cur) {
						break
					}
				}
				e := do()
				inflight.Add(-1)
				if e != nil {
					mu.Lock()
					if err == nil {
						err = e
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return top.Load(), err
}
