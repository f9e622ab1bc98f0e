// Package keys creates and loads a notary's identity (its TLS key and self-signed
// certificate, and a separate v2 signing key when the TLS key is RSA) and its bundle.
//
// New keys that only Convergence clients verify are Ed25519 (the v2 key beside an RSA
// TLS key; an Ed25519 TLS key with --key-type ed25519): its signatures are the
// cheapest to make and check. The TLS key stays ECDSA P-256 by default because
// browsers do not accept Ed25519 server certificates, and people open the notary's page
// to compare fingerprints. Existing keys of every type keep loading.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Key types accepted by LoadOrCreate.
const (
	KeyECDSA   = "ecdsa"   // ECDSA P-256, the default
	KeyEd25519 = "ed25519" // Ed25519: Convergence clients only (browsers do not accept it)
	KeyRSA     = "rsa"     // RSA-2048, for the original Convergence clients
)

// File names in the data directory.
const (
	KeyFile   = "notary-key.pem"    // TLS key, PKCS#8, mode 0600
	CertFile  = "notary-cert.pem"   // self-signed TLS certificate
	V2KeyFile = "notary-v2-key.pem" // v2 signing key when the TLS key is RSA, mode 0600
)

// ErrKeyTypeMismatch means the data directory holds a key of another type than asked.
var ErrKeyTypeMismatch = errors.New("key type differs from the one in the data directory")

// Identity is a notary's keys and certificate. Read-only after LoadOrCreate.
type Identity struct {
	KeyType  string          // KeyECDSA, KeyEd25519 or KeyRSA
	TLS      tls.Certificate // for the HTTPS listener
	Cert     *x509.Certificate
	CertPEM  string
	Signer   crypto.Signer // the TLS key: signs v1 answers
	V2Signer crypto.Signer // signs v2 answers: the TLS key, or a separate key (Ed25519 when new, ECDSA before) if RSA
}

// LoadOrCreate loads the identity in dir, creating dir (0700), the key (0600) and a
// self-signed certificate for names on first start. keyType "" keeps whatever exists
// (ECDSA when creating); another value must match the existing key.
func LoadOrCreate(dir, keyType string, names []string) (*Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create data directory %q: %w", dir, err)
	}
	keyPath := filepath.Join(dir, KeyFile)
	key, err := loadKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if keyType == "" {
			keyType = KeyECDSA
		}
		if key, err = newKey(keyType); err != nil {
			return nil, err
		}
		if err := writeKey(keyPath, key); err != nil {
			return nil, err
		}
		if err := writeCert(filepath.Join(dir, CertFile), key, names); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	id := &Identity{Signer: key, V2Signer: key, KeyType: KeyECDSA}
	switch key.(type) {
	case *rsa.PrivateKey:
		id.KeyType = KeyRSA
	case ed25519.PrivateKey:
		id.KeyType = KeyEd25519
	}
	if keyType != "" && keyType != id.KeyType {
		return nil, fmt.Errorf("failed to load key %q: it is %s, asked %s: %w", keyPath, id.KeyType, keyType, ErrKeyTypeMismatch)
	}
	if id.KeyType == KeyRSA {
		v2Path := filepath.Join(dir, V2KeyFile)
		v2, err := loadKey(v2Path)
		if errors.Is(err, fs.ErrNotExist) {
			if v2, err = newKey(KeyEd25519); err == nil {
				err = writeKey(v2Path, v2)
			}
		}
		if err != nil {
			return nil, err
		}
		id.V2Signer = v2
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		return nil, fmt.Errorf("failed to read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("failed to read key: %w", err)
	}
	if err := id.pair(certPEM, keyPEM, keyPath); err != nil {
		return nil, err
	}
	return id, nil
}

// pair sets the TLS certificate from the PEM of the certificate and of the key (named
// where in messages).
func (id *Identity) pair(certPEM, keyPEM []byte, where string) error {
	var err error
	if id.TLS, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("failed to pair key %q with certificate: %w", where, err)
	}
	id.Cert = id.TLS.Leaf
	id.CertPEM = string(certPEM)
	return nil
}

// Load loads the identity in dir and creates nothing: a fleet member, or a reload, must
// sign with the key it was given, never a new one.
func Load(dir string) (*Identity, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("failed to read %q: %w (hint: copy %s, %s and, for an RSA key, %s from the first member's data directory)", filepath.Join(dir, name), err, KeyFile, CertFile, V2KeyFile)
		}
		return b, nil
	}
	keyPEM, err := read(KeyFile)
	if err != nil {
		return nil, err
	}
	certPEM, err := read(CertFile)
	if err != nil {
		return nil, err
	}
	v2PEM, err := read(V2KeyFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return FromPEM(keyPEM, certPEM, v2PEM, dir)
}

// FromPEM builds an identity from the PEM of the TLS key (PKCS#8), its certificate and,
// for an RSA key, the v2 signing key (nil otherwise), such as a fleet's members get from
// the environment. where names the source in messages.
func FromPEM(keyPEM, certPEM, v2KeyPEM []byte, where string) (*Identity, error) {
	key, err := parseKey(keyPEM, where)
	if err != nil {
		return nil, err
	}
	id := &Identity{Signer: key, V2Signer: key, KeyType: KeyECDSA}
	if _, ok := key.(*rsa.PrivateKey); ok {
		id.KeyType = KeyRSA
		if len(v2KeyPEM) == 0 {
			return nil, fmt.Errorf("failed to load identity from %q: an RSA key needs its v2 signing key too (hint: give %s, or CONVERGENCE_NOTARY_V2_KEY)", where, V2KeyFile)
		}
		if id.V2Signer, err = parseKey(v2KeyPEM, where); err != nil {
			return nil, err
		}
	}
	if err := id.pair(certPEM, keyPEM, where); err != nil {
		return nil, err
	}
	return id, nil
}

func newKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case KeyECDSA:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("failed to generate ECDSA key: %w", err)
		}
		return k, nil
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("failed to generate Ed25519 key: %w", err)
		}
		return k, nil
	case KeyRSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("failed to generate RSA key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("failed to generate key: type %q: want %q, %q or %q", keyType, KeyECDSA, KeyEd25519, KeyRSA)
}

func loadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read key %q: %w", path, err)
	}
	return parseKey(data, path)
}

func parseKey(data []byte, path string) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("failed to read key %q: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse key %q: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("failed to parse key %q: %T cannot sign", path, k)
	}
	return s, nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("failed to encode key: %w", err)
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func writeCert(path string, key crypto.Signer, names []string) error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return fmt.Errorf("failed to make serial: %w", err)
	}
	cn := "Convergence notary"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Convergence notary"}},
		NotBefore:    time.Now().Add(-time.Hour),
		// Clients pin this certificate through the bundle; it is replaced by publishing a
		// new bundle, not by expiry.
		NotAfter:    time.Now().AddDate(20, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, ok := key.(*rsa.PrivateKey); ok || isECDSA(key) {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment // as before; Ed25519 cannot encipher
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("failed to create certificate: %w", err)
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func isECDSA(k crypto.Signer) bool {
	_, ok := k.(*ecdsa.PrivateKey)
	return ok
}

// writeFile writes through a temporary file and a rename, so a crash leaves no half file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("failed to write %q: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("failed to set mode of %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("failed to write %q: %w", path, err)
	}
	return nil
}
