package probe

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

func loopbackPolicy(ports ...int) *Policy {
	return &Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, Ports: ports}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func seenFPs(r Result) []string {
	var out []string
	for _, s := range r.Seen {
		fp := protocol.SHA256Fingerprint(s.Chain[0].Raw)
		if !slices.Contains(out, fp) {
			out = append(out, fp)
		}
	}
	slices.Sort(out)
	return out
}

func TestProbeOneCertIPv4AndIPv6(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		cert := testtarget.NewCert(t, "site.test")
		site := testtarget.StartSite(t, addr, cert)
		p := New(Config{Policy: loopbackPolicy(site.Port())})
		res, err := p.Probe(testCtx(t), site.Addr.Addr().String(), site.Port(), "")
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if fps := seenFPs(res); len(fps) != 1 || fps[0] != protocol.SHA256Fingerprint(cert.Certificate[0]) {
			t.Fatalf("%s: saw %v", addr, fps)
		}
		if site.Handshakes() != 1 {
			t.Fatalf("%s: %d handshakes, want 1", addr, site.Handshakes())
		}
	}
}

// A site that serves two certificates in turn: asked for the one not seen first, the
// prober repeats the handshake and sees both.
func TestProbeAlternatingCerts(t *testing.T) {
	a, b := testtarget.NewCert(t, "a.test"), testtarget.NewCert(t, "b.test")
	site := testtarget.StartSite(t, "127.0.0.1:0", a, b)
	p := New(Config{Policy: loopbackPolicy(site.Port())})
	res, err := p.Probe(testCtx(t), "127.0.0.1", site.Port(), protocol.SHA256Fingerprint(b.Certificate[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(seenFPs(res)) != 2 || site.Handshakes() != 2 {
		t.Fatalf("saw %v in %d handshakes, want both in 2", seenFPs(res), site.Handshakes())
	}
}

// SNI is always sent for names: a virtual host gets its own certificate, others the default.
func TestProbeSendsSNI(t *testing.T) {
	def, vhost := testtarget.NewCert(t, "default.test"), testtarget.NewCert(t, "vhost.test")
	site := testtarget.StartSite(t, "127.0.0.1:0", def)
	site.SetSNI("vhost.test", vhost)
	dns := testtarget.StartDNS(t)
	dns.Add(t, "vhost.test. 60 IN A 127.0.0.1", "other.test. 60 IN A 127.0.0.1")
	p := New(Config{Policy: loopbackPolicy(site.Port()), Resolver: dns.Resolver()})
	for name, want := range map[string][]byte{"vhost.test": vhost.Certificate[0], "other.test": def.Certificate[0]} {
		res, err := p.Probe(testCtx(t), name, site.Port(), "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fps := seenFPs(res); len(fps) != 1 || fps[0] != protocol.SHA256Fingerprint(want) {
			t.Fatalf("%s: saw %v", name, fps)
		}
	}
}

func TestProbeDeadPortAndStall(t *testing.T) {
	dead := testtarget.DeadPort(t)
	stall := testtarget.StartStall(t)
	p := New(Config{Policy: loopbackPolicy(int(dead.Port()), int(stall.Port())), ConnectTimeout: 2 * time.Second, HandshakeTimeout: 300 * time.Millisecond})
	for _, ap := range []netip.AddrPort{dead, stall} {
		_, err := p.Probe(testCtx(t), ap.Addr().String(), int(ap.Port()), "")
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("%s: err = %v, want ErrUnreachable", ap, err)
		}
	}
}

func TestProbeRefusedByPolicy(t *testing.T) {
	site := testtarget.StartSite(t, "127.0.0.1:0", testtarget.NewCert(t, "x.test"))
	dns := testtarget.StartDNS(t)
	dns.Add(t, "inside.test. 60 IN A 127.0.0.1")
	for name, p := range map[string]*Policy{
		"loopback not allowed": {Ports: []int{site.Port()}},
		"port not allowed":     loopbackPolicy(),
	} {
		prober := New(Config{Policy: p, Resolver: dns.Resolver()})
		for _, host := range []string{"127.0.0.1", "inside.test"} {
			if _, err := prober.Probe(testCtx(t), host, site.Port(), ""); !errors.Is(err, ErrRefused) {
				t.Errorf("%s, %s: err = %v, want ErrRefused", name, host, err)
			}
		}
	}
	// The dialer's own check: an address that skipped the resolution-time filter is
	// still refused on the address actually dialled.
	prober := New(Config{Policy: &Policy{Ports: []int{site.Port()}}})
	if _, err := prober.handshake(testCtx(t), site.Addr, ""); !errors.Is(err, ErrRefused) {
		t.Errorf("dial-time check: err = %v, want ErrRefused", err)
	}
	if n := site.Handshakes(); n != 0 {
		t.Errorf("site saw %d handshakes, want 0", n)
	}
}
