package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

func TestV1StatusCodes(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	dead := testtarget.DeadPort(t)
	stall := testtarget.StartStall(t)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port(), portOf(dead), portOf(stall)}, handshake: 300 * time.Millisecond})
	other := protocol.SHA1Fingerprint([]byte("another certificate"))

	// 200: the notary sees this certificate; the signed body lists it.
	code, a := e.v1("127.0.0.1", site.Port(), strings.ToLower(fp1(cert)))
	if code != http.StatusOK || len(a.Fingerprints) != 1 || a.Fingerprints[0].Fingerprint != fp1(cert) {
		t.Fatalf("matching fingerprint: %d %+v", code, a)
	}
	if f := a.Fingerprints[0]; f.Start > f.Finish || time.Since(time.Unix(f.Finish, 0)) > time.Minute {
		t.Fatalf("timestamps %+v", f)
	}
	// 409: it sees another; the signed body lists what it sees.
	if code, a := e.v1("127.0.0.1", site.Port(), other); code != http.StatusConflict || !a.Has(fp1(cert)) || a.Has(other) {
		t.Fatalf("other fingerprint: %d %+v", code, a)
	}
	// GET: what it sees.
	if code, a := e.v1Get("127.0.0.1", site.Port()); code != http.StatusOK || !a.Has(fp1(cert)) {
		t.Fatalf("GET: %d %+v", code, a)
	}
	// 503: dead port and stalled handshake, for POST and GET.
	for _, ap := range []int{portOf(dead), portOf(stall)} {
		if code, _ := e.v1("127.0.0.1", ap, fp1(cert)); code != http.StatusServiceUnavailable {
			t.Errorf("port %d POST: %d, want 503", ap, code)
		}
		if code, _ := e.v1Get("127.0.0.1", ap); code != http.StatusServiceUnavailable {
			t.Errorf("port %d GET: %d, want 503", ap, code)
		}
	}
	// 400: no target, no port, bad port, bad host, no or bad fingerprint.
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct{ path, body string }{
		{"/target/", "fingerprint=" + other},
		{"/target/127.0.0.1", "fingerprint=" + other},
		{"/target/127.0.0.1+", "fingerprint=" + other},
		{"/target/127.0.0.1+99999", "fingerprint=" + other},
		{"/target/bad_host!+443", "fingerprint=" + other},
		{protocol.V1Path("127.0.0.1", site.Port()), ""},
		{protocol.V1Path("127.0.0.1", site.Port()), "fingerprint=AB:CD"},
		{protocol.V1Path("127.0.0.1", site.Port()), "fingerprint=" + strings.Repeat("A", 2000)},
	} {
		if code, body, _ := e.do(http.MethodPost, tc.path, form, tc.body); code != http.StatusBadRequest {
			t.Errorf("POST %s %q: %d %s, want 400", tc.path, tc.body, code, body)
		}
	}
	// 405: other methods.
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		code, _, hdr := e.do(m, protocol.V1Path("127.0.0.1", site.Port()), "", "")
		if code != http.StatusMethodNotAllowed || hdr.Get("Allow") != "GET, POST" {
			t.Errorf("%s: %d Allow=%q, want 405", m, code, hdr.Get("Allow"))
		}
	}
	// 403: refused by policy, checked before any connection (literal addresses as data).
	for _, tc := range []struct {
		host string
		port int
	}{{"10.1.2.3", 443}, {"192.168.0.1", 443}, {"169.254.169.254", 443}, {"100.64.1.1", 443}, {"fd00::1", 443}, {"ff02::1", 443}, {"0.0.0.0", 443}, {"127.0.0.1", 22}} {
		if code, _ := e.v1(tc.host, tc.port, other); code != http.StatusForbidden {
			t.Errorf("%s port %d: %d, want 403", tc.host, tc.port, code)
		}
	}
	// One probe for the first question; the unknown fingerprint made a second probe of
	// 3 rounds (the default) looking for it; the rest came from the store.
	if n := site.Handshakes(); n != 4 {
		t.Errorf("site saw %d handshakes, want 1 + 3", n)
	}
}

// Without --allow-target, loopback targets are refused.
func TestV1LoopbackRefusedByDefault(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{ports: []int{site.Port()}})
	for _, host := range []string{"127.0.0.1", "::1", "127.1.2.3"} {
		if code, _ := e.v1(host, site.Port(), fp1(cert)); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", host, code)
		}
	}
	if site.Handshakes() != 0 {
		t.Errorf("site saw %d handshakes, want 0", site.Handshakes())
	}
}

// An RSA notary (--key-type rsa) signs v1 with RSASSA-PKCS1-v1_5/SHA-1 like the original,
// and v2 with its separate key named in the bundle (Ed25519 when new).
func TestRSANotary(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, keyType: "rsa"})
	if alg, _ := protocol.AlgorithmV1(e.bundle.Hosts[0].Certificate.PublicKey); alg != protocol.AlgRSAPKCS1SHA1 {
		t.Fatalf("v1 alg %s", alg)
	}
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(cert)); code != http.StatusOK {
		t.Fatalf("v1: %d", code)
	}
	if code, a := e.v2("127.0.0.1", site.Port(), fp256(cert)); code != http.StatusOK || a.Signature.Alg != protocol.AlgEd25519 {
		t.Fatalf("v2: %d %+v", code, a)
	}
}
