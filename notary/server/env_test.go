package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/check"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/store"
)

// env is a real notary over TLS (httptest) with a SQLite store in t.TempDir(), probing
// real loopback sites.
type env struct {
	t      testing.TB
	n      *Notary
	srv    *httptest.Server
	client *http.Client
	bundle protocol.Bundle
	clock  *testClock
	id     *keys.Identity
}

type envOpts struct {
	ports     []int
	allow     bool // allow loopback targets (--allow-target 127.0.0.0/8 --allow-target ::1/128)
	resolver  probe.Resolver
	handshake time.Duration
	checks    []string
	deciding  []string
	dane      *check.DANE
	roots     *x509.CertPool
	rate      float64
	burst     int
	keyType   string
	// pgURL, when set, puts the store in that PostgreSQL database with its probe leases
	// (a fleet member) instead of a SQLite file.
	pgURL          string
	trustedProxies []netip.Prefix
	metricsFrom    []netip.Prefix
}

// testClock is the notary's clock in tests that move time; it starts at the real now.
type testClock struct {
	mu  sync.Mutex // protects off
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	id, err := keys.LoadOrCreate(filepath.Join(dir, "data"), o.keyType, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	var st interface {
		Store
		Close() error
	}
	var leases Leaser
	if o.pgURL != "" {
		var pg *store.Postgres
		pg, err = store.OpenPostgres(ctx, o.pgURL)
		st, leases = pg, pg
	} else {
		st, err = store.OpenSQLite(ctx, filepath.Join(dir, "notary.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pol := &probe.Policy{Ports: o.ports}
	if o.allow {
		pol.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	pr := probe.New(probe.Config{Policy: pol, Resolver: o.resolver, ConnectTimeout: 2 * time.Second, HandshakeTimeout: o.handshake})
	n := New(Config{Store: st, Leases: leases, Prober: pr, Checks: o.checks, Deciding: o.deciding, DANE: o.dane})
	clock := &testClock{}
	n.now = clock.now
	n.roots = o.roots
	b, err := id.Bundle(keys.BundleOptions{Name: "Test Notary", Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	bundleJSON, err := protocol.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(HandlerConfig{Notary: n, Identity: id, Bundle: bundleJSON, Name: "Test Notary", RatePerSecond: o.rate, Burst: o.burst, Logger: slog.New(slog.DiscardHandler),
		TrustedProxies: o.trustedProxies, MetricsFrom: o.metricsFrom})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &env{t: t, n: n, srv: srv, client: pinnedClient(id.Cert), bundle: b, clock: clock, id: id}
}

// pinnedClient trusts exactly the notary's certificate, as Convergence clients do.
func pinnedClient(cert *x509.Certificate) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !cs.PeerCertificates[0].Equal(cert) {
				return x509.UnknownAuthorityError{}
			}
			return nil
		},
	}}}
}

func (e *env) do(method, path, contentType string, body string) (int, []byte, http.Header) {
	e.t.Helper()
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return e.doHeader(method, path, h, body)
}

// doHeader sends a request with the header h.
func (e *env) doHeader(method, path string, h http.Header, body string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = h
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// v1 POSTs fingerprint for host:port and verifies the signature of 200/409 answers with
// the key pinned in the bundle.
func (e *env) v1(host string, port int, fp string) (int, protocol.V1Answer) {
	e.t.Helper()
	code, body, _ := e.do(http.MethodPost, protocol.V1Path(host, port), "application/x-www-form-urlencoded", url.Values{"fingerprint": {fp}}.Encode())
	return code, e.verifyV1(code, body)
}

func (e *env) v1Get(host string, port int) (int, protocol.V1Answer) {
	e.t.Helper()
	code, body, _ := e.do(http.MethodGet, protocol.V1Path(host, port), "", "")
	return code, e.verifyV1(code, body)
}

func (e *env) verifyV1(code int, body []byte) protocol.V1Answer {
	e.t.Helper()
	if code != http.StatusOK && code != http.StatusConflict {
		return protocol.V1Answer{}
	}
	a, err := protocol.VerifyV1(body, e.bundle.Hosts[0].Certificate.PublicKey)
	if err != nil {
		e.t.Fatalf("v1 answer %s does not verify: %v", body, err)
	}
	return a
}

// v2 asks host:port about sha256 and verifies signature and request binding.
func (e *env) v2(host string, port int, sha256 string) (int, protocol.V2Answer) {
	e.t.Helper()
	req, err := protocol.NewV2Request(host, port, sha256)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _ := req.Marshal()
	code, body, _ := e.do(http.MethodPost, protocol.V2Path, "application/json", string(raw))
	if code != http.StatusOK {
		return code, protocol.V2Answer{}
	}
	pub, err := e.bundle.V2PublicKey(e.bundle.Hosts[0])
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := protocol.VerifyV2(body, pub)
	if err != nil {
		e.t.Fatalf("v2 answer %s does not verify: %v", body, err)
	}
	if err := a.Answers(req); err != nil {
		e.t.Fatal(err)
	}
	return code, a
}

func fp1(c tls.Certificate) string { return protocol.SHA1Fingerprint(c.Certificate[0]) }

func fp256(c tls.Certificate) string { return protocol.SHA256Fingerprint(c.Certificate[0]) }

func portOf(ap netip.AddrPort) int { return int(ap.Port()) }

func itoa(n int) string { return strconv.Itoa(n) }
