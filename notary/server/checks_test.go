package server

import (
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/check"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// CA validation: reported always, deciding only when the operator says so.
func TestCACheck(t *testing.T) {
	trusted := testtarget.NewCert(t, "127.0.0.1")
	untrusted := testtarget.NewCert(t, "127.0.0.1")
	good := testtarget.StartSite(t, "127.0.0.1:0", trusted)
	bad := testtarget.StartSite(t, "127.0.0.1:0", untrusted)
	roots := x509.NewCertPool()
	roots.AddCert(trusted.Leaf)
	ports := []int{good.Port(), bad.Port()}

	// Reported but not deciding: the untrusted chain still gets 200 (network decides).
	e := newEnv(t, envOpts{allow: true, ports: ports, roots: roots, checks: []string{protocol.CheckCA}})
	code, a := e.v2("127.0.0.1", bad.Port(), fp256(untrusted))
	c, _ := a.Check(protocol.CheckCA)
	if code != http.StatusOK || a.Status != protocol.StatusConfirmed || c.Verdict != protocol.VerdictDisagree || c.Deciding || !strings.Contains(c.Detail, "unknown authority") {
		t.Fatalf("reported CA check: %d %+v", code, a)
	}
	// Deciding: network and CA.
	e = newEnv(t, envOpts{allow: true, ports: ports, roots: roots, checks: []string{protocol.CheckCA}, deciding: []string{protocol.CheckNetwork, protocol.CheckCA}})
	if code, a := e.v2("127.0.0.1", good.Port(), fp256(trusted)); code != http.StatusOK || a.Status != protocol.StatusConfirmed {
		t.Fatalf("trusted chain: %d %+v", code, a)
	}
	if code, a := e.v2("127.0.0.1", bad.Port(), fp256(untrusted)); a.Status != protocol.StatusMismatch {
		t.Fatalf("untrusted chain, CA deciding: %d %+v", code, a)
	}
	if code, _ := e.v1("127.0.0.1", bad.Port(), fp1(untrusted)); code != http.StatusConflict {
		t.Fatalf("v1, untrusted chain, CA deciding: %d, want 409", code)
	}
}

// DANE through a validating resolver (a real DNS server on loopback setting AD).
func TestDANECheck(t *testing.T) {
	cert := testtarget.NewCert(t, "site.test")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	other := testtarget.NewCert(t, "site.test")
	srv := testtarget.StartDNS(t)
	rec := &dns.TLSA{}
	if err := rec.Sign(3, 1, 1, cert.Leaf); err != nil {
		t.Fatal(err)
	}
	otherRec := &dns.TLSA{}
	if err := otherRec.Sign(3, 1, 1, other.Leaf); err != nil {
		t.Fatal(err)
	}
	srv.Add(t, "site.test. 60 IN A 127.0.0.1", "wrong.test. 60 IN A 127.0.0.1")
	srv.Add(t, "_"+itoa(site.Port())+"._tcp.site.test. 60 IN TLSA 3 1 1 "+rec.Certificate)
	srv.Add(t, "_"+itoa(site.Port())+"._tcp.wrong.test. 60 IN TLSA 3 1 1 "+otherRec.Certificate)
	srv.SetSecure(true)
	d := check.NewDANE(srv.Addr, 2*time.Second)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, resolver: srv.Resolver(), dane: d,
		checks: []string{protocol.CheckDANE}, deciding: []string{protocol.CheckNetwork, protocol.CheckDANE}})
	code, a := e.v2("site.test", site.Port(), fp256(cert))
	if c, _ := a.Check(protocol.CheckDANE); code != http.StatusOK || a.Status != protocol.StatusConfirmed || c.Verdict != protocol.VerdictAgree {
		t.Fatalf("matching TLSA: %d %+v", code, a)
	}
	if code, _ := e.v1("wrong.test", site.Port(), fp1(cert)); code != http.StatusConflict {
		t.Fatalf("TLSA for another key: %d, want 409", code)
	}
	// Without the AD bit DANE has no opinion, and the network check decides alone.
	srv.SetSecure(false)
	code, a = e.v2("wrong.test", site.Port(), fp256(cert))
	if c, _ := a.Check(protocol.CheckDANE); code != http.StatusOK || c.Verdict != protocol.VerdictNoOpinion || a.Status != protocol.StatusConfirmed {
		t.Fatalf("unvalidated TLSA: %d %+v", code, a)
	}
	// No resolver configured: no opinion.
	e = newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, resolver: srv.Resolver(), checks: []string{protocol.CheckDANE}})
	if _, a := e.v2("site.test", site.Port(), fp256(cert)); a.Checks[1].Verdict != protocol.VerdictNoOpinion {
		t.Fatalf("no resolver: %+v", a.Checks)
	}
}
