package e2e

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
)

// testCA is a certificate authority of the lab: the "public CA" every browser trusts.
type testCA struct {
	ca   *testcerts.Cert
	cert *x509.Certificate
	pool *x509.CertPool
}

// leafCert is a site certificate written to PEM files for the site process.
type leafCert struct {
	cert              *x509.Certificate
	certFile, keyFile string
}

// pair is the CERT,KEY argument of labpeer site.
func (c leafCert) pair() string { return c.certFile + "," + c.keyFile }

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	ca := testcerts.NewCA(t, name)
	return &testCA{ca: ca, cert: ca.Cert, pool: ca.Pool()}
}

// issue makes a leaf for names, signed by the CA, and writes it (chain included) and
// its key under dir with the given file stem.
func (ca *testCA) issue(t *testing.T, dir, stem string, names ...string) leafCert {
	t.Helper()
	c := ca.ca.Issue(t, testcerts.Options{}, names...)
	lc := leafCert{cert: c.Cert, certFile: filepath.Join(dir, stem+".crt"), keyFile: filepath.Join(dir, stem+".key")}
	if err := os.WriteFile(lc.certFile, c.ChainPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lc.keyFile, c.KeyPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	return lc
}

// mustValidate shows that CA validation alone would accept c for name.
func (ca *testCA) mustValidate(t *testing.T, c leafCert, name string) {
	t.Helper()
	if _, err := c.cert.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.pool}); err != nil {
		t.Fatalf("the certificate for %s does not pass CA validation: %v", name, err)
	}
}
