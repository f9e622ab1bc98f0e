package localproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// Issue 17 item 2: sessions are resumed on both legs, and on the site's leg only for
// a session whose certificate was trusted, for the same (host, port, SNI), with the
// verdict asked again for every connection.

// handshake is what a site saw of one TLS handshake.
type handshake struct {
	sni     string
	resumed bool
	curve   tls.CurveID
}

// resumeSite is a real TLS site (HTTP/1.1) that issues session tickets and records
// every handshake, resumed or not.
type resumeSite struct {
	*httptest.Server
	mu   sync.Mutex // protects hs and seen
	hs   []handshake
	seen int // how many handshakes last has returned up to
}

func newResumeSite(t *testing.T, maxVersion uint16) *resumeSite {
	s := &resumeSite{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from site")
	}))
	s.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	s.TLS = &tls.Config{MaxVersion: maxVersion, VerifyConnection: func(cs tls.ConnectionState) error {
		s.mu.Lock()
		s.hs = append(s.hs, handshake{cs.ServerName, cs.DidResume, cs.CurveID})
		s.mu.Unlock()
		return nil
	}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// last returns the most recent handshake the site saw, after waiting (10 s at most,
// a bounded poll) for it to have seen one more than the previous call returned: the
// site records a handshake when it reads the client's Finished, which may come after
// the proxy is done with a rejected site.
func (s *resumeSite) last(t *testing.T) handshake {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		n := len(s.hs)
		if n > s.seen || time.Now().After(deadline) {
			s.seen = n
			defer s.mu.Unlock()
			if n == 0 {
				t.Fatal("the site saw no handshake")
			}
			return s.hs[n-1]
		}
		s.mu.Unlock()
	}
}

func (s *resumeSite) port() string { return portOf(s.Server) }

// withdrawable trusts what testChecker trusts until withdrawn, then rejects all: a
// verdict that changes (a pin removed, a notary revoked) between two connections.
type withdrawable struct {
	testChecker
	withdrawn atomic.Bool
	rechecks  atomic.Int64
}

// Recheck follows Verify's rule and counts the rechecks.
func (w *withdrawable) Recheck(ctx context.Context, t verifier.Target, chain []*x509.Certificate) bool {
	w.rechecks.Add(1)
	return !w.withdrawn.Load() && w.testChecker.Recheck(ctx, t, chain)
}

func (w *withdrawable) Verify(ctx context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	v, err := w.testChecker.Verify(ctx, t, chain)
	if err == nil && w.withdrawn.Load() {
		v.Outcome, v.Reason = verifier.OutcomeRejected, "the trust was withdrawn"
	}
	return v, err
}

// newConnClient makes a new connection through the proxy for every request, as a
// browser's new tabs do, and keeps the proxy's session tickets when resume is true.
func newConnClient(r *running, resume bool) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(r.ca.Certificate())
	cfg := &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}
	if resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: r.addr}),
		TLSClientConfig: cfg, DisableKeepAlives: true,
	}}
}

func TestSiteSessionResumedOnlyWhenTrusted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
	}{{"TLS 1.3", tls.VersionTLS13}, {"TLS 1.2", tls.VersionTLS12}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newResumeSite(t, tc.version)
			chk := &withdrawable{}
			// No pool: every connection here is a new handshake with the site.
			r := startProxy(t, func(c *Config) { c.Checker = verifyOnly{chk} })
			c := newConnClient(r, false)
			good := "https://good.test:" + s.port() + "/"
			step := func(u string) (int, handshake) {
				t.Helper()
				resp, _ := get(t, c, u)
				return resp.StatusCode, s.last(t)
			}

			code, h := step(good)
			if code != http.StatusOK || h.resumed {
				t.Fatalf("first connection: %d, %+v; want 200 and a full handshake", code, h)
			}
			if tc.version == tls.VersionTLS13 && h.curve != tls.X25519MLKEM768 {
				t.Errorf("toward the site the key exchange was %v, want the post-quantum hybrid X25519MLKEM768", h.curve)
			}
			if code, h = step(good); code != http.StatusOK || !h.resumed {
				t.Fatalf("second connection: %d, %+v; want 200 over a resumed session", code, h)
			}
			chk.mu.Lock()
			calls, chain := chk.calls, chk.chains["good.test"]
			chk.mu.Unlock()
			if calls != 2 || len(chain) == 0 || !chain[0].Equal(s.Certificate()) {
				t.Errorf("Checker asked %d times (want 2: the resumed connection is judged too), last chain's leaf is the site's: %v",
					calls, len(chain) > 0 && chain[0].Equal(s.Certificate()))
			}

			// Another name at the same address, and the same SNI under another CONNECT
			// name: neither may resume good.test's session.
			if code, h = step("https://bad.test:" + s.port() + "/"); code != http.StatusForbidden || h.resumed {
				t.Errorf("a rejected name at the same address: %d, %+v; want the block page and a full handshake", code, h)
			}
			if code, h = step("https://bad.test:" + s.port() + "/"); code != http.StatusForbidden || h.resumed {
				t.Errorf("a rejected name, again: %d, %+v; want no session kept from a rejected certificate", code, h)
			}
			sniUnderOtherName(t, r, "other.test:"+s.port(), "good.test")
			if h = s.last(t); h.resumed || h.sni != "good.test" {
				t.Errorf("SNI good.test under CONNECT other.test: %+v; want a full handshake (sessions are kept per host, port and SNI)", h)
			}

			// The verdict is asked again on a resumed session: withdrawn, the
			// connection is blocked, and the session is dropped.
			chk.withdrawn.Store(true)
			if code, h = step(good); code != http.StatusForbidden || !h.resumed {
				t.Errorf("after the trust was withdrawn: %d, %+v; want the block page although the session resumed", code, h)
			}
			chk.withdrawn.Store(false)
			if code, h = step(good); code != http.StatusOK || h.resumed {
				t.Errorf("trusted again: %d, %+v; want 200 and a full handshake (the rejected session was dropped)", code, h)
			}
		})
	}
}

// sniUnderOtherName CONNECTs to target and runs TLS with the SNI sni, then one GET.
func sniUnderOtherName(t *testing.T, r *running, target, sni string) {
	t.Helper()
	raw := connect(t, r.addr, target)
	defer raw.Close()
	pool := x509.NewCertPool()
	pool.AddCert(r.ca.Certificate())
	tc := tls.Client(raw, &tls.Config{ServerName: sni, RootCAs: pool, NextProtos: []string{"http/1.1"}})
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", sni)
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatalf("GET with SNI %q under CONNECT %q: %v", sni, target, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestClientSessionResumed: a client that keeps the proxy's tickets resumes its
// session on its next connection, on X25519 alone; the ticket key rotates (a ticket
// is good for up to two rotations), and a new CA ends every session.
func TestClientSessionResumed(t *testing.T) {
	s := newSite(t, false)
	r := startProxy(t, noPool) // a verdict per connection, counted below
	var offset atomic.Int64    // how far the ticket clock is ahead of the real one
	r.proxy.tickets.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c := newConnClient(r, true)
	u := "https://good.test:" + s.port() + "/"
	resumed := func() bool {
		t.Helper()
		resp, body := get(t, c, u)
		if resp.StatusCode != http.StatusOK || body == "" {
			t.Fatalf("GET: %d %q", resp.StatusCode, body)
		}
		if resp.TLS.CurveID != tls.X25519 {
			t.Errorf("the loopback leg's key exchange was %v, want X25519", resp.TLS.CurveID)
		}
		return resp.TLS.DidResume
	}
	if resumed() {
		t.Fatal("the first connection resumed")
	}
	if !resumed() {
		t.Fatal("the second connection did not resume the first's session")
	}
	if calls := r.checker.callCount(); calls != 2 {
		t.Errorf("Checker asked %d times for 2 connections; a resumed client session must not skip the verdict", calls)
	}
	offset.Add(int64(90 * time.Minute)) // one rotation: the ticket's key is the previous one
	if !resumed() {
		t.Error("a ticket one rotation old was refused")
	}
	offset.Add(int64(150 * time.Minute)) // two rotations since that ticket's key was made
	if resumed() {
		t.Error("a ticket two rotations old resumed")
	}
	if !resumed() {
		t.Fatal("no resumption after the rotation")
	}
	ca, err := LoadOrCreateCA(t.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		t.Fatal(err)
	}
	r.proxy.SetCA(ca)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	pool.AddCert(r.ca.Certificate()) // the old CA too: the client would resume if the proxy let it
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
	if resumed() {
		t.Error("a session made under the old CA resumed after SetCA")
	}
}
