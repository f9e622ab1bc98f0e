package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// serveReal runs the notary's real HTTPS listener (Serve, with its limits) for e's
// handler on loopback and returns its base URL; Serve stops when the test ends.
func serveReal(t testing.TB, e *env, cfg ServeConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg.Handler = e.srv.Config.Handler
	cfg.Certificate = e.srv.TLS.Certificates[0]
	cfg.Logger = slog.New(slog.DiscardHandler)
	go func() { done <- Serve(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
	return "https://" + ln.Addr().String()
}

// clientFrom returns e's pinned client with its connections made from the loopback
// address src (Linux routes all of 127.0.0.0/8 to lo): another client, to the
// per-client rate limit.
func clientFrom(e *env, src string) *http.Client {
	c := pinnedClient(e.bundle.Hosts[0].Certificate)
	tr := c.Transport.(*http.Transport)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	tr.DialContext = d.DialContext
	return c
}

func postV2(t *testing.T, c *http.Client, base, host string, port int, sha256 string) int {
	t.Helper()
	req, err := protocol.NewV2Request(host, port, sha256)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := req.Marshal()
	resp, err := c.Post(base+protocol.V2Path, "application/json", strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("v2 query: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNotaryFloodFromOneClient: one client floods the notary with queries and gets
// 429 beyond its budget while a client from another address is served.
func TestNotaryFloodFromOneClient(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, rate: 1, burst: 5})
	base := serveReal(t, e, ServeConfig{})
	flooder := clientFrom(e, "127.0.0.1")
	var limited, answered atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { // ends after 50 requests or when the test stops the flood
			for range 50 {
				if ctx.Err() != nil {
					return
				}
				resp, err := flooder.Get(base + protocol.V1Path("127.0.0.1", site.Port()))
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					limited.Add(1)
				} else {
					answered.Add(1)
				}
			}
		})
	}
	// Wait (bounded) until the limit bites, then ask as another client mid-flood.
	for i := 0; limited.Load() == 0 && i < 1000; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if limited.Load() == 0 {
		t.Fatal("the flooding client was never limited")
	}
	other := clientFrom(e, "127.0.0.2")
	if code := postV2(t, other, base, "127.0.0.1", site.Port(), fp256(cert)); code != http.StatusOK {
		t.Fatalf("another client during the flood: %d, want 200", code)
	}
	cancel()
	wg.Wait()
	t.Logf("flood: %d answered, %d limited (429)", answered.Load(), limited.Load())
	if limited.Load() < answered.Load() {
		t.Errorf("the flooder got %d answers and only %d refusals at 1/s, burst 5", answered.Load(), limited.Load())
	}
}

// TestNotarySlowlorisOthersServed: 200 clients finish the TLS handshake and trickle
// a request header; a normal client is served meanwhile, and Serve closes every
// trickler once its header timeout passes.
func TestNotarySlowlorisOthersServed(t *testing.T) {
	const conns = 200
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	// The tricklers and the normal client all come from 127.0.0.1: this test is about the
	// header timeout, so the per-client share lets them all in (TestNotaryHoarderOthersServed
	// tests the share).
	base := serveReal(t, e, ServeConfig{ReadHeaderTimeout: 2 * time.Second, MaxConnsPerClient: conns + 8})
	addr := strings.TrimPrefix(base, "https://")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var closed atomic.Int32
	var wg sync.WaitGroup
	for i := range conns {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // a hostile client pins nothing
		if err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		wg.Go(func() { // ends when Serve closes c, after 300 bytes, or at ctx's end
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			msg := "GET /healthz HTTP/1.1\r\nX-Slow: " + strings.Repeat("a", 300)
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
	if code := postV2(t, e.client, base, "127.0.0.1", site.Port(), fp256(cert)); code != http.StatusOK {
		t.Fatalf("normal client during slowloris: %d", code)
	}
	wg.Wait()
	if int(closed.Load()) != conns {
		t.Errorf("%d of %d trickling clients were closed by Serve (want all: header timeout)", closed.Load(), conns)
	}
}

// TestNotaryOversizedBodies: bodies over the limits are refused before they are read
// whole, and the notary keeps serving.
func TestNotaryOversizedBodies(t *testing.T) {
	e := newEnv(t, envOpts{})
	base := serveReal(t, e, ServeConfig{})
	big := strings.Repeat("a", 1<<20)
	resp, err := e.client.Post(base+protocol.V2Path, "application/json", strings.NewReader(`{"host":"`+big+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB v2 request: %d, want 413", resp.StatusCode)
	}
	form := url.Values{"fingerprint": {big}}.Encode()
	resp, err = e.client.Post(base+protocol.V1Path("www.example.com", 443), "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("1 MiB v1 form: %d, want 400", resp.StatusCode)
	}
	resp, err = e.client.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after oversized bodies: %v %v", resp, err)
	}
	resp.Body.Close()
}
