// Package testtarget runs real TLS sites and a real DNS server on loopback for the
// notary's tests: fixed, alternating, rotating and SNI-selected certificates, stalls.
package testtarget

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
)

// NewCert returns a self-signed ECDSA P-256 certificate for names (DNS names or IPs),
// in the form a Site serves (testcerts.SelfSigned).
func NewCert(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	return testcerts.SelfSigned(t, names...).TLS()
}

// Site is a real TLS server on loopback. It counts handshakes and picks the certificate
// per handshake: by SNI if set in BySNI, else the next of Certs in turn.
type Site struct {
	Addr       netip.AddrPort
	handshakes atomic.Int64
	mu         sync.Mutex // protects certs, bySNI, next
	certs      []tls.Certificate
	bySNI      map[string]tls.Certificate
	next       int
	stall      int           // connections still to hold silent (StallNext)
	stalled    chan struct{} // told of each held connection
	held       []net.Conn    // closed by Close
	ln         net.Listener
	done       chan struct{}
}

// StartSite listens on network address addr (e.g. "127.0.0.1:0", "[::1]:0") and serves
// TLS handshakes until the test ends. It skips the test if addr cannot be bound (no IPv6).
func StartSite(t testing.TB, addr string, certs ...tls.Certificate) *Site {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := &Site{certs: certs, bySNI: map[string]tls.Certificate{}, ln: ln, done: make(chan struct{})}
	s.Addr = netip.MustParseAddrPort(ln.Addr().String())
	cfg := &tls.Config{GetCertificate: s.pick}
	go s.serve(tls.NewListener(ln, cfg))
	t.Cleanup(s.Close)
	return s
}

func (s *Site) pick(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.handshakes.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.bySNI[hello.ServerName]; ok {
		return &c, nil
	}
	if len(s.certs) == 0 {
		return nil, errors.New("no certificate")
	}
	c := s.certs[s.next%len(s.certs)]
	s.next++
	return &c, nil
}

// serve completes each handshake then closes the connection. It ends when the listener
// is closed (Close).
func (s *Site) serve(ln net.Listener) {
	defer close(s.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if raw, ok := s.holdThis(c.(*tls.Conn)); ok {
			wg.Go(func() {
				defer raw.Close()
				_ = raw.SetDeadline(time.Now().Add(60 * time.Second))
				buf := make([]byte, 4096)
				for {
					if _, err := raw.Read(buf); err != nil {
						return
					}
				}
			})
			continue
		}
		wg.Go(func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_ = c.(*tls.Conn).Handshake()
		})
	}
}

// StallNext makes the next n connections stall: accepted, never answered (not counted
// as handshakes), held until their client goes away or the site closes. The returned
// channel gets one value per connection held.
func (s *Site) StallNext(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall, s.stalled = n, make(chan struct{}, n)
	return s.stalled
}

// holdThis reports whether c is to stall, and then its raw connection.
func (s *Site) holdThis(c *tls.Conn) (net.Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall <= 0 {
		return nil, false
	}
	s.stall--
	raw := c.NetConn()
	s.held = append(s.held, raw)
	s.stalled <- struct{}{}
	return raw, true
}

// Handshakes returns how many handshakes the site has started.
func (s *Site) Handshakes() int64 { return s.handshakes.Load() }

// SetCerts replaces the certificates served in turn (a rotation).
func (s *Site) SetCerts(certs ...tls.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs, s.next = certs, 0
}

// SetSNI serves cert to clients that send server name name.
func (s *Site) SetSNI(name string, cert tls.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bySNI[name] = cert
}

// Port returns the site's port.
func (s *Site) Port() int { return int(s.Addr.Port()) }

// Close stops the site and waits for its goroutines.
func (s *Site) Close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for _, c := range s.held {
		_ = c.Close()
	}
	s.mu.Unlock()
	<-s.done
}

// StartStall listens on 127.0.0.1 and accepts connections that never answer the
// handshake: it reads the ClientHello and then stays silent until the test ends.
func StartStall(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns sync.WaitGroup
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			})
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		conns.Wait()
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}

// DeadPort returns a loopback port that refuses connections (bound once, then closed).
func DeadPort(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	_ = ln.Close()
	return ap
}
