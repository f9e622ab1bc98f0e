package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// BenchmarkHandler measures the notary's own part of a cached answer (the handler,
// without TLS and the network), with a request log to io.Discard in JSON as serve
// writes it. Run: go test -run '^$' -bench BenchmarkHandler -benchmem ./notary/server
func BenchmarkHandler(b *testing.B) {
	for _, kt := range []string{"ecdsa", "ed25519"} {
		cert := testtarget.NewCert(b, "127.0.0.1")
		site := testtarget.StartSite(b, "127.0.0.1:0", cert)
		e := newEnv(b, envOpts{allow: true, ports: []int{site.Port()}, keyType: kt})
		h, err := NewHandler(HandlerConfig{Notary: e.n, Identity: e.id, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if code, _ := e.v1("127.0.0.1", site.Port(), fp1(cert)); code != http.StatusOK {
			b.Fatalf("priming: %d", code)
		}
		form := url.Values{"fingerprint": {fp1(cert)}}.Encode()
		v1Path := protocol.V1Path("127.0.0.1", site.Port())
		b.Run(kt+"/v1", func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, v1Path, strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
		req, _ := protocol.NewV2Request("127.0.0.1", site.Port(), fp256(cert))
		raw, _ := req.Marshal()
		b.Run(kt+"/v2", func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, protocol.V2Path, strings.NewReader(string(raw)))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
