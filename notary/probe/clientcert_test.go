package probe

import (
	"crypto/tls"
	"net"
	"net/netip"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// startClientCertSite is a TLS site on loopback that requires a client certificate
// (as a company portal or a bank's smart-card login does), at most TLS maxVersion.
func startClientCertSite(t *testing.T, cert tls.Certificate, maxVersion uint16) netip.AddrPort {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		MaxVersion:   maxVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // ends when the listener closes (Cleanup)
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake() // fails: the prober has no certificate
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// TestProbeSiteThatRequiresAClientCertificate: the prober sees the certificate of a
// site that refuses it for having no client certificate, in TLS 1.2 (where the site
// aborts the handshake after showing its certificate) and 1.3.
func TestProbeSiteThatRequiresAClientCertificate(t *testing.T) {
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS 1.2", tls.VersionTLS12}, {"TLS 1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			cert := testtarget.NewCert(t, "portal.test")
			ap := startClientCertSite(t, cert, v.max)
			p := New(Config{Policy: loopbackPolicy(int(ap.Port()))})
			res, err := p.Probe(testCtx(t), ap.Addr().String(), int(ap.Port()), "portal.test")
			if err != nil {
				t.Fatalf("probing a site that wants a client certificate: %v", err)
			}
			if fps := seenFPs(res); len(fps) != 1 || fps[0] != protocol.SHA256Fingerprint(cert.Certificate[0]) {
				t.Fatalf("saw %v, want the site's certificate", fps)
			}
		})
	}
}

// TestProbeHandshakeFailureIsNoCertificate: a site that fails the handshake without
// having shown a certificate (it answers the ClientHello with an alert) gives an
// error and no certificate, as before.
func TestProbeHandshakeFailureIsNoCertificate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // ends when the listener closes
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 512))
			_, _ = c.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}) // alert: handshake failure
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	p := New(Config{Policy: loopbackPolicy(int(ap.Port()))})
	res, err := p.Probe(testCtx(t), ap.Addr().String(), int(ap.Port()), "")
	if err == nil || len(res.Seen) > 0 {
		t.Fatalf("a site that sent only an alert: err %v, seen %d certificates; want an error and none", err, len(res.Seen))
	}
}
