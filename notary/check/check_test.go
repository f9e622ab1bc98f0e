package check

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

func TestVerifyChain(t *testing.T) {
	cert := testtarget.NewCert(t, "site.test")
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	now := time.Now()
	if ok, why := VerifyChain([]*x509.Certificate{cert.Leaf}, "site.test", roots, now); !ok {
		t.Fatalf("trusted root: %s", why)
	}
	for name, tc := range map[string]struct {
		host  string
		roots *x509.CertPool
		at    time.Time
		want  string
	}{
		"system roots": {"site.test", nil, now, "unknown authority"},
		"wrong name":   {"other.test", roots, now, "other.test"},
		"expired":      {"site.test", roots, now.Add(48 * time.Hour), "expired"},
	} {
		ok, why := VerifyChain([]*x509.Certificate{cert.Leaf}, tc.host, tc.roots, tc.at)
		if ok || !strings.Contains(why, tc.want) {
			t.Errorf("%s: ok=%v why=%q, want mention of %q", name, ok, why, tc.want)
		}
	}
}

func TestDANEThroughResolver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cert := testtarget.NewCert(t, "site.test")
	other := testtarget.NewCert(t, "other.test")
	rec := &dns.TLSA{Usage: 3, Selector: 1, MatchingType: 1}
	if err := rec.Sign(3, 1, 1, cert.Leaf); err != nil {
		t.Fatal(err)
	}
	full := protocol.SHA256Fingerprint(cert.Leaf.Raw)
	srv := testtarget.StartDNS(t)
	srv.Add(t, "_443._tcp.site.test. 60 IN TLSA 3 1 1 "+rec.Certificate, "_8443._tcp.site.test. 60 IN TLSA 3 0 1 "+strings.ToUpper(full),
		"_443._tcp.ca-only.test. 60 IN TLSA 2 0 1 "+full)
	d := NewDANE(srv.Addr, 5*time.Second)

	if v, why := d.Verdict(ctx, "site.test", 443, cert.Leaf.Raw, full); v != protocol.VerdictNoOpinion || !strings.Contains(why, "not DNSSEC") {
		t.Fatalf("without AD: %s %q", v, why)
	}
	srv.SetSecure(true)
	for _, tc := range []struct {
		host string
		port int
		leaf []byte
		fp   string
		want protocol.Verdict
	}{
		{"site.test", 443, cert.Leaf.Raw, full, protocol.VerdictAgree},
		{"site.test", 443, other.Leaf.Raw, protocol.SHA256Fingerprint(other.Leaf.Raw), protocol.VerdictDisagree},
		{"site.test", 443, nil, full, protocol.VerdictNoOpinion},
		{"site.test", 8443, nil, full, protocol.VerdictAgree},
		{"absent.test", 443, cert.Leaf.Raw, full, protocol.VerdictNoOpinion},
		{"ca-only.test", 443, cert.Leaf.Raw, full, protocol.VerdictNoOpinion},
	} {
		if v, why := d.Verdict(ctx, tc.host, tc.port, tc.leaf, tc.fp); v != tc.want {
			t.Errorf("%s:%d leaf=%v: %s (%s), want %s", tc.host, tc.port, tc.leaf != nil, v, why, tc.want)
		}
	}
	dead := testtarget.DeadPort(t)
	if v, _ := NewDANE(dead.String(), 500*time.Millisecond).Verdict(ctx, "site.test", 443, nil, full); v != protocol.VerdictError {
		t.Errorf("unreachable resolver: %s, want error", v)
	}
}
