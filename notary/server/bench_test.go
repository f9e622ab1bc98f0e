package server

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// BenchmarkNotary measures answers served from the store (v1 and v2, signature
// included) against a bare Go HTTPS handler in the same run, and the latency of a probe
// of a loopback site. Run: go test -run '^$' -bench BenchmarkNotary ./notary/server
func BenchmarkNotary(b *testing.B) {
	cert := testtarget.NewCert(b, "127.0.0.1")
	site := testtarget.StartSite(b, "127.0.0.1:0", cert)
	e := newEnv(b, envOpts{allow: true, ports: []int{site.Port()}})
	v1Form := url.Values{"fingerprint": {fp1(cert)}}.Encode()
	v1URL := e.srv.URL + protocol.V1Path("127.0.0.1", site.Port())
	req, _ := protocol.NewV2Request("127.0.0.1", site.Port(), fp256(cert))
	v2Body, _ := req.Marshal()

	bare := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fingerprintList": [], "signature": ""}`))
	}))
	bare.TLS = &tls.Config{Certificates: e.srv.TLS.Certificates}
	bare.StartTLS()
	defer bare.Close()

	post := func(b *testing.B, target, ctype, body string, want int) {
		b.Helper()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := e.client.Post(target, ctype, strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	// Prime the store so the notary answers from it.
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(cert)); code != http.StatusOK {
		b.Fatalf("priming: %d", code)
	}
	b.Run("baseline-bare-https", func(b *testing.B) {
		post(b, bare.URL+"/target/x+443", "application/x-www-form-urlencoded", v1Form, http.StatusOK)
	})
	b.Run("notary-cached-v1", func(b *testing.B) {
		post(b, v1URL, "application/x-www-form-urlencoded", v1Form, http.StatusOK)
	})
	b.Run("notary-cached-v2", func(b *testing.B) {
		post(b, e.srv.URL+protocol.V2Path, "application/json", string(v2Body), http.StatusOK)
	})
	b.Run("notary-probe-v1", func(b *testing.B) {
		// Each question finds its record stale (the clock moves past the window) and
		// waits for a fresh probe of the loopback site.
		for b.Loop() {
			e.clock.advance(2 * time.Hour)
			if code, _, _ := e.do(http.MethodPost, protocol.V1Path("127.0.0.1", site.Port()), "application/x-www-form-urlencoded", v1Form); code != http.StatusOK {
				b.Fatalf("status %d", code)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/probe")
	})
}
