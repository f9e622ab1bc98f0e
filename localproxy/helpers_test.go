package localproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// testChecker returns fixed verdicts by host name. It stands in for the real verifier,
// which is another package (it needs notaries and a store); the end-to-end issue wires
// the real one through the headless binary. Hosts starting with "bad" are rejected,
// hosts starting with "broken" make Verify fail, all others are trusted.
type testChecker struct {
	mu     sync.Mutex // protects calls and chains
	calls  int
	chains map[string][]*x509.Certificate
}

func (c *testChecker) Verify(ctx context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	c.mu.Lock()
	c.calls++
	if c.chains == nil {
		c.chains = map[string][]*x509.Certificate{}
	}
	c.chains[t.Host] = chain
	c.mu.Unlock()
	v := verifier.Verdict{Target: t, FingerprintSHA256: verifier.FingerprintSHA256(chain[0]),
		Source: verifier.SourceNotaries, Time: time.Now(), Asked: 2}
	switch {
	case strings.HasPrefix(t.Host, "broken"):
		return verifier.Verdict{}, errors.New("notary store unavailable")
	case strings.HasPrefix(t.Host, "bad"):
		v.Outcome = verifier.OutcomeRejected
		v.Code = verifier.ReasonDisagree // as the verifier's Decide would say
		v.Reason = "notaries saw a different certificate"
		v.Answers = []verifier.NotaryAnswer{
			{Notary: "notary-one", Host: "127.0.0.1:1", Kind: verifier.AnswerDisagree,
				Seen: []verifier.Sighting{{FingerprintSHA256: strings.Repeat("ab", 32)}}},
			{Notary: "notary-two", Host: "127.0.0.1:2", Kind: verifier.AnswerUnreachable, Err: "connection refused"},
		}
	default:
		v.Outcome = verifier.OutcomeTrusted
		v.Reason = "2 of 2 notaries agree"
		v.Agreed = 2
	}
	return v, nil
}

// Recheck is the memory-only recheck pooled connections ask for (pool.go): the same
// rule as Verify, without counting a call.
func (c *testChecker) Recheck(_ context.Context, t verifier.Target, chain []*x509.Certificate) bool {
	return len(chain) > 0 && !strings.HasPrefix(t.Host, "broken") && !strings.HasPrefix(t.Host, "bad")
}

// verifyOnly hides a Checker's Recheck: the proxy then pools nothing, and every
// connection is its own tunnel with its own verdict.
type verifyOnly struct{ Checker }

// noPool is a startProxy edit for tests of one verdict per connection.
func noPool(c *Config) { c.Checker = verifyOnly{c.Checker} }

func (c *testChecker) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// site is a real TLS server on loopback that records what reached it.
type site struct {
	*httptest.Server
	mu       sync.Mutex // protects requests and bodies
	requests int
	bodies   int64
	conns    atomic.Int64 // TCP connections accepted (the benchmarks count them)
}

func newSite(t testing.TB, h2 bool) *site {
	s := &site{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.requests++
		s.bodies += n
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><h1 id=site>hello from site</h1>"+r.Proto+"</body></html>")
	})
	mux.HandleFunc("/bulk", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "16777216")
		buf := make([]byte, 64<<10)
		for range 256 {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	s.Server = httptest.NewUnstartedServer(mux)
	s.EnableHTTP2 = h2
	s.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *site) received() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.bodies
}

// port returns the site's loopback port as a string.
func (s *site) port() string {
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	return port
}

// testDial maps every *.test name to 127.0.0.1, so tests can use real-looking host
// names (for SNI and for Chromium, which bypasses proxies for loopback) while every
// connection stays on loopback.
func testDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(host, ".test") {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, errors.New("test dialer: loopback only")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort(host, port))
}

type running struct {
	proxy   *Proxy
	addr    string
	ca      *CA
	checker *testChecker
	cancel  context.CancelFunc
	done    chan error
}

// startProxy runs a real proxy on a loopback listener; edit lets a test change Config.
func startProxy(t testing.TB, edit func(*Config)) *running {
	t.Helper()
	ca, err := LoadOrCreateCA(t.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	chk := &testChecker{}
	cfg := Config{Checker: chk, CA: ca, Addr: "127.0.0.1:0", DialContext: testDial,
		Limits: Limits{HeaderTimeout: 10 * time.Second, HandshakeTimeout: 20 * time.Second, IdleTimeout: 30 * time.Second}}
	if os.Getenv("LOCALPROXY_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{proxy: p, addr: ln.Addr().String(), ca: ca, checker: chk, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		r.done <- nil // later stops return at once
	case <-time.After(10 * time.Second):
		t.Errorf("Serve did not return 10 s after cancel")
	}
}

// client returns an HTTP client that uses the proxy and trusts only the proxy's CA.
func (r *running) client(h2 bool) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(r.ca.Certificate())
	tr := &http.Transport{
		Proxy:             http.ProxyURL(&url.URL{Scheme: "http", Host: r.addr}),
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func get(t testing.TB, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", u, err)
	}
	return resp, string(b)
}
