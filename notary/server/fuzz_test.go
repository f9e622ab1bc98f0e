package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// fuzzProbes replaces the notary's prober in the fuzz target: the real one would dial
// whatever host the fuzzer invents, and only loopback may be dialled here. It records
// what reached it and fails every probe, so the handler still answers (unreachable).
type fuzzProbes struct {
	mu   sync.Mutex // protects last
	last []string
}

func (p *fuzzProbes) probe(_ context.Context, host string, port int, _ string) (probe.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = append(p.last, host+" "+strconv.Itoa(port))
	return probe.Result{}, errors.New("fuzz: probing is off")
}

func (p *fuzzProbes) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.last
	p.last = nil
	return out
}

// FuzzHandlerRequest feeds raw HTTP requests to the notary's handler (v1 path and
// form, v2 JSON, anything else). It must never panic, must answer with one of the
// documented codes, must probe only canonical hosts on allowed ports, and every v2
// answer it gives must verify and answer the request that was sent.
func FuzzHandlerRequest(f *testing.F) {
	e := newEnv(f, envOpts{allow: true})
	fp := &fuzzProbes{}
	e.n.probe = fp.probe
	h := e.srv.Config.Handler
	pub, err := e.bundle.V2PublicKey(e.bundle.Hosts[0])
	if err != nil {
		f.Fatal(err)
	}
	v2, _ := protocol.NewV2Request("www.example.com", 443, strings.Repeat("ab", 32))
	v2body, _ := v2.Marshal()
	seeds := []struct{ method, path, ctype, body string }{
		{"GET", "/target/www.example.com+443", "", ""},
		{"POST", "/target/www.example.com+443", "application/x-www-form-urlencoded", "fingerprint=" + strings.Repeat("AB:", 19) + "CD"},
		{"POST", "/target/[::1]+8443", "application/x-www-form-urlencoded", "fingerprint=zz&fingerprint=yy"},
		{"POST", "/target/a%2Bb+443", "multipart/form-data; boundary=x", "--x\r\n"},
		{"POST", "/v2/check", "application/json", string(v2body)},
		{"POST", "/v2/check", "application/json", `{"host":"127.0.0.1","port":443,"nonce":"` + strings.Repeat("0", 32) + `"}`},
		{"PUT", "/v2/check", "", "{}"},
		{"GET", "/.well-known/convergence.notary", "", ""},
		{"GET", "/", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ctype, []byte(s.body))
	}
	// 301, 307 and 308 are ServeMux cleaning a path ("/." or "/target/../x").
	okCodes := map[int]bool{200: true, 301: true, 307: true, 308: true, 400: true, 403: true, 404: true, 405: true, 409: true, 413: true, 429: true, 503: true}
	f.Fuzz(func(t *testing.T, method, path, ctype string, body []byte) {
		var raw bytes.Buffer
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: notary.test\r\n", method, path)
		if ctype != "" {
			fmt.Fprintf(&raw, "Content-Type: %s\r\n", ctype)
		}
		fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n", len(body))
		raw.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			return // net/http's server would have refused it before the handler
		}
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !okCodes[rec.Code] {
			t.Fatalf("%s %q answered %d: %q", method, path, rec.Code, rec.Body.String())
		}
		for _, p := range fp.take() {
			host, portStr, _ := strings.Cut(p, " ")
			port, _ := strconv.Atoi(portStr)
			if canon, err := protocol.NormalizeHost(host); err != nil || canon != host {
				t.Fatalf("%s %q probed a non-canonical host %q", method, path, host)
			}
			if err := (&probe.Policy{}).CheckPort(port); err != nil {
				t.Fatalf("%s %q probed port %d outside the policy", method, path, port)
			}
		}
		if req.URL.Path == protocol.V2Path && rec.Code == http.StatusOK {
			a, err := protocol.VerifyV2(rec.Body.Bytes(), pub)
			if err != nil {
				t.Fatalf("v2 answer does not verify: %v\n%s", err, rec.Body.Bytes())
			}
			sent, err := protocol.ParseV2Request(body)
			if err != nil {
				t.Fatalf("answered 200 to a request that does not parse: %v", err)
			}
			if err := a.Answers(sent); err != nil {
				t.Fatalf("v2 answer does not answer its request: %v", err)
			}
		}
	})
}
