package demo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"
)

// The demo's two sites. Their names are under .test (RFC 6761), which no DNS answers:
// only the demo's own dialer (for the proxy) and resolver (for the notaries) know them.
const (
	HonestName   = "honest.demo.test"
	AttackedName = "attacked.demo.test"
)

// siteCA issues the demo sites' certificates, the impostor's too: as in a real attack
// with a certificate from a CA that was fooled or compromised, validation against the
// CA would pass; only the notaries can tell.
type siteCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newSiteCA() (*siteCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to make the demo sites' CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Convergence demo: a CA that issues to anyone"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("failed to make the demo sites' CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("failed to read the demo sites' CA: %w", err)
	}
	return &siteCA{cert: cert, key: key}, nil
}

// leaf issues a certificate for name with a key of its own.
func (ca *siteCA) leaf(name string, serial int64) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("failed to make a key for %q: %w", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("failed to issue a certificate for %q: %w", name, err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}, nil
}

// site is one HTTPS server on loopback: a real TLS listener serving one page.
type site struct {
	addr string // 127.0.0.1:port
	port int
	srv  *http.Server
	done chan error
}

// startSite serves page over TLS with cert on a free loopback port until close.
func startSite(cert tls.Certificate, page string) (*site, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen for a demo site: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, page)
		}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // notaries' probes hang up after the handshake
	}
	s := &site{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, srv: srv, done: make(chan error, 1)}
	go func() { // ends at close (Shutdown)
		err := srv.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

func (s *site) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
	return <-s.done
}
