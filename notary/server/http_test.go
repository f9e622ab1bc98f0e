package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

func TestRateLimit(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, rate: 0.001, burst: 2})
	for i, want := range []int{200, 200, 429} {
		if code, _ := e.v1("127.0.0.1", site.Port(), fp1(cert)); code != want {
			t.Fatalf("request %d: %d, want %d", i, code, want)
		}
	}
	if code, _, hdr := e.do(http.MethodPost, protocol.V2Path, "application/json", "{}"); code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("v2 over the limit: %d", code)
	}
	if code, _, _ := e.do(http.MethodGet, "/healthz", "", ""); code != http.StatusOK {
		t.Fatalf("healthz is not limited: %d", code)
	}
}

func TestBundlePageHealth(t *testing.T) {
	e := newEnv(t, envOpts{})
	code, body, hdr := e.do(http.MethodGet, protocol.WellKnownBundlePath, "", "")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("bundle: %d %v", code, hdr)
	}
	b, err := protocol.ParseBundle(body)
	if err != nil || b.Name != "Test Notary" || !b.SupportsV2() {
		t.Fatalf("served bundle: %+v %v", b, err)
	}
	// The bundle pins the certificate the notary actually serves.
	if !b.Hosts[0].Certificate.Equal(e.srv.TLS.Certificates[0].Leaf) {
		t.Fatal("bundle certificate differs from the served one")
	}
	code, body, _ = e.do(http.MethodGet, "/", "", "")
	if code != http.StatusOK || !strings.Contains(string(body), protocol.SHA256Fingerprint(b.Hosts[0].Certificate.Raw)) || !strings.Contains(string(body), "Test Notary") {
		t.Fatalf("page: %d %s", code, body)
	}
	if code, body, _ := e.do(http.MethodGet, "/healthz", "", ""); code != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _, _ := e.do(http.MethodGet, "/nothing", "", ""); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", code)
	}
}

// Serve: the real listener with its limits, and a graceful stop that leaks nothing.
func TestServeLimitsAndShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t, envOpts{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, ServeConfig{Handler: e.srv.Config.Handler, Certificate: e.srv.TLS.Certificates[0],
			MaxHeaderBytes: 1 << 10, Logger: slog.New(slog.DiscardHandler)})
	}()
	url := "https://" + ln.Addr().String()
	req, _ := http.NewRequest(http.MethodGet, url+"/healthz", nil)
	resp, err := e.client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz over Serve: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, url+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 8<<10))
	resp, err = e.client.Do(req)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized header: %v %v, want 431", resp, err)
	}
	resp.Body.Close()
	// TLS below 1.2 is refused by default.
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 accepted")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	e.client.CloseIdleConnections()
	e.srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Errorf("%d goroutines after stop, %d before", n, before)
	}
}
