package testcerts

import (
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// A self-signed certificate verifies, as its own root, for each of its names, and its
// key is the one that signed it (tls.X509KeyPair checks the pair from the PEM forms).
func TestSelfSigned(t *testing.T) {
	c := SelfSigned(t, "site.test", "127.0.0.1")
	for _, name := range []string{"site.test", "127.0.0.1"} {
		if _, err := c.Cert.Verify(x509.VerifyOptions{DNSName: name, Roots: c.Pool()}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := tls.X509KeyPair(c.PEM(), c.KeyPEM(t)); err != nil {
		t.Errorf("the PEM forms are not a key pair: %v", err)
	}
	if other := SelfSigned(t, "site.test"); other.Cert.Equal(c.Cert) || other.Cert.SerialNumber.Cmp(c.Cert.SerialNumber) == 0 {
		t.Error("two certificates for one name are the same, or share a serial")
	}
}

// A CA's leaf verifies under the CA for its name, with the CA in its chain; the CA
// itself is no server's certificate.
func TestCAIssues(t *testing.T) {
	ca := NewCA(t, "Test Root")
	leaf := ca.Issue(t, Options{}, "shop.test")
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: "shop.test", Roots: ca.Pool()}); err != nil {
		t.Fatal(err)
	}
	if got := leaf.TLS().Certificate; len(got) != 2 {
		t.Errorf("the leaf's TLS chain has %d certificates; want the leaf and the CA", len(got))
	}
	if _, err := tls.X509KeyPair(leaf.ChainPEM(), leaf.KeyPEM(t)); err != nil {
		t.Errorf("the chain and key files are not a key pair: %v", err)
	}
	if len(ca.Cert.ExtKeyUsage) != 0 || !ca.Cert.IsCA {
		t.Errorf("CA: IsCA %v, extended key usages %v", ca.Cert.IsCA, ca.Cert.ExtKeyUsage)
	}
}

// The options: an RSA key, a given key, a validity in the past.
func TestOptions(t *testing.T) {
	if _, ok := New(t, Options{RSA: true}, "v1.test").Key.(*rsa.PrivateKey); !ok {
		t.Error("Options.RSA: the key is not RSA")
	}
	base := SelfSigned(t, "k.test")
	if again := New(t, Options{Key: base.Key}, "k.test"); !again.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(base.Cert.PublicKey) {
		t.Error("Options.Key: the certificate is not for the given key")
	}
	past := time.Now().Add(-48 * time.Hour)
	old := New(t, Options{NotBefore: past, NotAfter: past.Add(time.Hour)}, "old.test")
	_, err := old.Cert.Verify(x509.VerifyOptions{DNSName: "old.test", Roots: old.Pool()})
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("an expired certificate verified with %v; want expired", err)
	}
}
