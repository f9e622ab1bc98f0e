package server

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// /metrics shows what was asked and done: a probe, a cache hit, requests by kind and
// status, signing, and a store failure.
func TestMetrics(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	for range 2 { // a probe, then an answer from the history
		if code, a := e.v2("127.0.0.1", site.Port(), fp256(cert)); code != http.StatusOK || a.Status != protocol.StatusConfirmed {
			t.Fatalf("v2: %d %s", code, a.Status)
		}
	}
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(cert)); code != http.StatusOK {
		t.Fatalf("v1: %d", code)
	}
	code, body, hdr := e.do(http.MethodGet, "/metrics", "", "")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", code, hdr.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		"# TYPE convergence_notary_requests_total counter\n",
		`convergence_notary_requests_total{kind="v2",status="200"} 2` + "\n",
		`convergence_notary_requests_total{kind="v1",status="200"} 1` + "\n",
		`convergence_notary_probes_total{result="ok"} 1` + "\n",
		"convergence_notary_probe_duration_seconds_count 1\n",
		`convergence_notary_probe_duration_seconds_bucket{le="+Inf"} 1` + "\n",
		`convergence_notary_cache_hits_total{kind="history"} 2` + "\n",
		`convergence_notary_sign_duration_seconds_count{protocol="v2"} 2` + "\n",
		`convergence_notary_sign_duration_seconds_count{protocol="v1"} 1` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "store_errors_total{") {
		t.Errorf("store errors counted with none:\n%s", text)
	}
	e.n.cfg.Store.(*watchedStore).st.(interface{ Close() error }).Close()
	// The history in memory answers for up to its TTL; past it the store is read again,
	// and when that fails only what memory answers is answered (storehealth.go): another
	// certificate needs the store. Two failed reads: the one memory answered for, and
	// the one the other certificate needed (refused at once: the store is down).
	e.clock.advance(2 * defaultCacheTTL)
	if code, _ := e.v2("127.0.0.1", site.Port(), strings.Repeat("ab", 32)); code != http.StatusServiceUnavailable {
		t.Fatalf("v2 on a closed store: %d", code)
	}
	_, body, _ = e.do(http.MethodGet, "/metrics", "", "")
	for _, want := range []string{
		`convergence_notary_store_errors_total{op="history"} 2` + "\n",
		`convergence_notary_cache_hits_total{kind="stale"} 1` + "\n",
		"convergence_notary_store_up 0\n",
		`convergence_notary_requests_total{kind="v2",status="503"} 1` + "\n",
		`convergence_notary_requests_total{kind="/metrics",status="200"} 1` + "\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

// /metrics is served to the addresses allowed only: loopback by default, and a client
// behind a trusted proxy is judged by its own address, not the proxy's.
func TestMetricsAccess(t *testing.T) {
	e := newEnv(t, envOpts{trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	get := func(xff string) int {
		h := http.Header{}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		code, _, _ := e.doHeader(http.MethodGet, "/metrics", h, "")
		return code
	}
	if code := get(""); code != http.StatusOK {
		t.Errorf("from loopback: %d", code)
	}
	if code := get("198.51.100.7"); code != http.StatusForbidden {
		t.Errorf("from the internet through the proxy: %d, want 403", code)
	}
	other := newEnv(t, envOpts{metricsFrom: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if code, _, _ := other.do(http.MethodGet, "/metrics", "", ""); code != http.StatusForbidden {
		t.Errorf("from loopback with --metrics-from 192.0.2.0/24: %d, want 403", code)
	}
}
