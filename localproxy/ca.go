// Package localproxy runs the loopback HTTP proxy that intercepts HTTPS with a local CA
// and finishes a client's TLS handshake only after the Checker has trusted the site.
package localproxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// CAKeySecret is the name under which the local CA's private key (PKCS#8 PEM) is kept
// in settings.Secrets.
const CAKeySecret = "localproxy-ca-key"

// CACertFile is the file, in the data dir, that holds the local CA certificate (PEM).
const CACertFile = "ca.pem"

const (
	caValidity = 10 * 365 * 24 * time.Hour
	caBackdate = 24 * time.Hour
)

// Errors returned by LoadOrCreateCA; callers branch on them and may offer RegenerateCA.
var (
	// ErrCAIncomplete means one half of the CA (certificate or private key) is missing.
	ErrCAIncomplete = errors.New("local CA is incomplete")
	// ErrCAMismatch means the stored private key does not belong to the certificate.
	ErrCAMismatch = errors.New("local CA key does not match its certificate")
	// ErrCAExpired means the CA certificate is no longer valid.
	ErrCAExpired = errors.New("local CA certificate has expired")
)

// CA is the install's local certificate authority; it mints the leaves the proxy shows
// to clients. A CA is safe for concurrent use. Leaves are cached per CA, so a new CA
// (RegenerateCA) starts with no minted leaf.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	leaves  *leafCache
}

// LoadOrCreateCA loads the CA from dataDir/ca.pem (made private, 0600, when readable by
// others) and the key from secrets, or creates both when neither exists. When only one
// half exists it returns an error wrapping ErrCAIncomplete and changes nothing: the
// caller decides whether to RegenerateCA.
func LoadOrCreateCA(dataDir string, secrets settings.Secrets) (*CA, error) {
	certPath := filepath.Join(dataDir, CACertFile)
	// Versions before made it 0644; everything in the data dir is private now.
	if err := settings.Restrict(certPath); err != nil {
		return nil, fmt.Errorf("failed to restrict CA certificate %q: %w", certPath, err)
	}
	certPEM, certErr := os.ReadFile(certPath)
	if certErr != nil && !errors.Is(certErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("failed to read CA certificate %q: %w", certPath, certErr)
	}
	keyPEM, keyErr := secrets.Get(CAKeySecret)
	if keyErr != nil && !errors.Is(keyErr, settings.ErrSecretNotFound) {
		return nil, fmt.Errorf("failed to read CA key %q from the secret store: %w", CAKeySecret, keyErr)
	}
	haveCert, haveKey := certErr == nil, keyErr == nil
	switch {
	case !haveCert && !haveKey:
		return RegenerateCA(dataDir, secrets)
	case haveCert && !haveKey:
		return nil, fmt.Errorf("failed to load local CA: certificate %q exists but its private key %q is missing from the secret store (regenerate the CA and reinstall it): %w",
			certPath, CAKeySecret, ErrCAIncomplete)
	case !haveCert && haveKey:
		return nil, fmt.Errorf("failed to load local CA: private key %q exists but certificate %q is missing (regenerate the CA and reinstall it): %w",
			CAKeySecret, certPath, ErrCAIncomplete)
	}
	ca, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("failed to load local CA from %q: %w", certPath, err)
	}
	if time.Now().After(ca.cert.NotAfter) {
		return nil, fmt.Errorf("failed to load local CA from %q: expired %s: %w",
			certPath, ca.cert.NotAfter.Format(time.DateOnly), ErrCAExpired)
	}
	return ca, nil
}

// RegenerateCA creates a new CA key and certificate, replacing any earlier ones in
// secrets and dataDir. Leaves minted by the old CA are no longer trusted by clients
// that trust only the new one; the proxy must be given the new CA (Proxy.SetCA).
func RegenerateCA(dataDir string, secrets settings.Secrets) (*CA, error) {
	if err := os.MkdirAll(dataDir, settings.PrivateDirMode); err != nil {
		return nil, fmt.Errorf("failed to create data dir %q: %w", dataDir, err)
	}
	certPEM, keyPEM, err := newCAMaterial()
	if err != nil {
		return nil, err
	}
	ca, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("failed to parse new CA: %w", err)
	}
	// Key first: a certificate without its key is the worse half-state, since clients
	// may already trust the file.
	if err := secrets.Set(CAKeySecret, keyPEM); err != nil {
		return nil, fmt.Errorf("failed to store CA key %q: %w", CAKeySecret, err)
	}
	certPath := filepath.Join(dataDir, CACertFile)
	if err := writeFileAtomic(certPath, certPEM, settings.PrivateFileMode); err != nil {
		return nil, fmt.Errorf("failed to write CA certificate %q: %w", certPath, err)
	}
	return ca, nil
}

// CertPEM returns the CA certificate in PEM form, for export and trust-store installs.
func (c *CA) CertPEM() []byte { return bytes.Clone(c.certPEM) }

// Certificate returns the parsed CA certificate. The caller must not modify it.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// newCAMaterial generates an ECDSA P-256 key and a self-signed CA certificate that may
// sign only leaves (path length 0).
func newCAMaterial() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate CA key: %w", err)
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, nil, fmt.Errorf("failed to generate CA name: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	name := "Convergence Local CA " + hex.EncodeToString(suffix[:])
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         name,
			Organization:       []string{"Convergence local proxy"},
			OrganizationalUnit: []string{"this computer only"},
		},
		NotBefore:             now.Add(-caBackdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create CA certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to encode CA key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}

// parseCA decodes the PEM halves and checks that they belong together.
func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("failed to decode CA certificate: no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse CA certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, errors.New("failed to decode CA key: no PRIVATE KEY PEM block")
	}
	anyKey, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse CA key: %w", err)
	}
	key, ok := anyKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("failed to use CA key: type %T, want ECDSA: %w", anyKey, ErrCAMismatch)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("failed to match CA key with certificate %q: %w", cert.Subject.CommonName, ErrCAMismatch)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("failed to use CA certificate %q: not a CA", cert.Subject.CommonName)
	}
	leaves, err := newLeafCache(defaultLeafCacheSize)
	if err != nil {
		return nil, err
	}
	return &CA{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		key:     key,
		leaves:  leaves,
	}, nil
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("failed to generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it over path,
// so a crash never leaves a half-written certificate.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
