// Package testcerts mints certificates for tests: self-signed leaves, a test CA that
// issues leaves, and their PEM forms, so that no test file carries its own copy.
package testcerts

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"
)

// Options changes what a certificate holds. The zero value makes a TLS server's
// certificate with a new ECDSA P-256 key and a random serial, valid from an hour ago
// for a day.
type Options struct {
	// CommonName is the subject's common name; default the first name, or "testcerts".
	CommonName string
	// Key is the certificate's key; default a new one.
	Key crypto.Signer
	// RSA makes the new key RSA-2048 instead of ECDSA P-256: protocol v1 signs with RSA,
	// so an original notary has an RSA key.
	RSA bool
	// NotBefore and NotAfter bound the validity; zero is an hour ago and a day from now.
	// A NotAfter in the past makes an expired certificate.
	NotBefore, NotAfter time.Time
	// CA makes a certificate that may sign others (Issue). With names it is a server's
	// certificate too, as a self-signed web site's certificate added to the roots is.
	CA bool
}

// Cert is a minted certificate and its key.
type Cert struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Issuer *Cert // the CA that signed it; nil when self-signed
}

// Make returns a self-signed certificate for names (DNS names or IP addresses), for
// code without a testing.TB such as TestMain; tests use New or SelfSigned.
func Make(o Options, names ...string) (*Cert, error) {
	return mint(o, nil, names)
}

// New returns a self-signed certificate for names with o, or ends the test.
func New(t testing.TB, o Options, names ...string) *Cert {
	t.Helper()
	c, err := Make(o, names...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SelfSigned returns a self-signed ECDSA P-256 certificate for names (DNS names or IP
// addresses), for TLS servers, valid from an hour ago for a day.
func SelfSigned(t testing.TB, names ...string) *Cert {
	t.Helper()
	return New(t, Options{}, names...)
}

// NewCA returns a self-signed certificate authority named name, to Issue leaves.
func NewCA(t testing.TB, name string) *Cert {
	t.Helper()
	return New(t, Options{CA: true, CommonName: name})
}

// Issue returns a certificate for names with o, signed by c, which must be a CA.
func (c *Cert) Issue(t testing.TB, o Options, names ...string) *Cert {
	t.Helper()
	if !c.Cert.IsCA {
		t.Fatalf("testcerts: %q is not a CA", c.Cert.Subject.CommonName)
	}
	leaf, err := mint(o, c, names)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// mint makes the certificate, signed by issuer or, when issuer is nil, by its own key.
func mint(o Options, issuer *Cert, names []string) (*Cert, error) {
	key := o.Key
	if key == nil {
		var err error
		if key, err = newKey(o.RSA); err != nil {
			return nil, fmt.Errorf("failed to generate key: %w", err)
		}
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, fmt.Errorf("failed to pick serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.CommonName},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	if tmpl.Subject.CommonName == "" {
		tmpl.Subject.CommonName = "testcerts"
		if len(names) > 0 {
			tmpl.Subject.CommonName = names[0]
		}
	}
	if o.CA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if !o.CA || len(names) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.Cert, issuer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("failed to create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("failed to parse certificate: %w", err)
	}
	return &Cert{Cert: cert, Key: key, Issuer: issuer}, nil
}

func newKey(useRSA bool) (crypto.Signer, error) {
	if useRSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// Chain is the certificate, then its issuers up to the root.
func (c *Cert) Chain() []*x509.Certificate {
	var chain []*x509.Certificate
	for at := c; at != nil; at = at.Issuer {
		chain = append(chain, at.Cert)
	}
	return chain
}

// TLS is the certificate as a server presents it: its chain and key.
func (c *Cert) TLS() tls.Certificate {
	tc := tls.Certificate{PrivateKey: c.Key, Leaf: c.Cert}
	for _, x := range c.Chain() {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}

// Pool is a certificate pool holding c alone, to trust it as a root.
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Cert)
	return p
}

// PEM is the certificate in PEM.
func (c *Cert) PEM() []byte { return PEM(c.Cert) }

// ChainPEM is the certificate and its issuers in PEM, as a server's certificate file.
func (c *Cert) ChainPEM() []byte { return PEM(c.Chain()...) }

// KeyPEM is the key in PEM (PKCS #8), as a server's key file.
func (c *Cert) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// PEM encodes certs as consecutive CERTIFICATE blocks.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
