package core

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/settings"
)

// The CA key's keyring name must follow the data dir, not its path (issue 20 item 5).
// The memory secrets stand in for the one keyring all data dirs share: the name is
// what is under test, and the real keyring's own tests are in settings.

// openCA opens a Core with its CA on dir and secrets, and returns the CA certificate
// (PEM) it loaded, after checking that the key in secrets is the certificate's.
func openCA(t *testing.T, dir string, secrets settings.Secrets) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", Secrets: secrets})
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	defer c.Close()
	certPEM := c.CA().CertPEM()
	keyPEM, err := c.Secrets.Get(localproxy.CAKeySecret)
	if err != nil {
		t.Fatalf("the CA key is not in the secrets: %v", err)
	}
	cert := parseCertPEM(t, certPEM)
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatal("the CA key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
		t.Fatal("the CA key in the secrets is not the certificate's")
	}
	return certPEM
}

func parseCertPEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("the CA certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// copyDir copies the regular files under src to dst with their modes, as a backup
// restored elsewhere would.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pathKeyName is the name earlier versions gave the CA key: the key's name, a dot and
// the first 6 bytes of the SHA-256 of the data dir's absolute path, in hex.
func pathKeyName(t *testing.T, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(abs))
	return localproxy.CAKeySecret + "." + hex.EncodeToString(sum[:6])
}

// TestCAFollowsCopiedDataDir restores a data dir at another path: it opens with the
// same CA, its key found, nothing regenerated.
func TestCAFollowsCopiedDataDir(t *testing.T) {
	keyring := settings.NewMemorySecrets()
	first := filepath.Join(t.TempDir(), "first")
	before := openCA(t, first, keyring)

	restored := filepath.Join(t.TempDir(), "restored")
	copyDir(t, first, restored)
	after := openCA(t, restored, keyring)
	if !bytes.Equal(before, after) {
		t.Fatal("the restored data dir has another CA")
	}
	if disk, err := os.ReadFile(filepath.Join(restored, localproxy.CACertFile)); err != nil || !bytes.Equal(disk, before) {
		t.Errorf("the restored ca.pem was rewritten (err %v)", err)
	}
	fi, err := os.Stat(filepath.Join(restored, settings.InstallIDFile))
	if err != nil || fi.Mode().Perm() != settings.PrivateFileMode {
		t.Errorf("install id file: %v, %v; want mode %v", fi, err, settings.PrivateFileMode)
	}
}

// TestCAKeyUnderPathNameIsMigrated opens a data dir of an earlier version, whose CA
// key is under the path-derived name: the key is found and moved to the new name (the
// old one deleted), so the dir then survives a move too.
func TestCAKeyUnderPathNameIsMigrated(t *testing.T) {
	keyring := settings.NewMemorySecrets()
	dir := filepath.Join(t.TempDir(), "old")
	made := settings.NewMemorySecrets()
	ca, err := localproxy.RegenerateCA(dir, made)
	if err != nil {
		t.Fatal(err)
	}
	key, err := made.Get(localproxy.CAKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	oldName := pathKeyName(t, dir)
	if err := keyring.Set(oldName, key); err != nil {
		t.Fatal(err)
	}

	if got := openCA(t, dir, keyring); !bytes.Equal(got, ca.CertPEM()) {
		t.Fatal("the old data dir opened with another CA")
	}
	if _, err := keyring.Get(oldName); !errors.Is(err, settings.ErrSecretNotFound) {
		t.Errorf("the key is still under its path-derived name %q: %v", oldName, err)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	copyDir(t, dir, moved)
	if got := openCA(t, moved, keyring); !bytes.Equal(got, ca.CertPEM()) {
		t.Fatal("the migrated data dir, moved, has another CA")
	}
}

// TestStalePathNamedKeyWithoutCertIsIgnored starts a fresh data dir where an earlier
// one (deleted since) left its key under the path-derived name: with no certificate
// in the dir the old key is not taken, and a new CA is made.
func TestStalePathNamedKeyWithoutCertIsIgnored(t *testing.T) {
	keyring := settings.NewMemorySecrets()
	dir := filepath.Join(t.TempDir(), "fresh")
	if err := keyring.Set(pathKeyName(t, dir), []byte("a key whose certificate was deleted")); err != nil {
		t.Fatal(err)
	}
	openCA(t, dir, keyring)
}

// TestCAFollowsCopiedDataDirWithFileSecrets is the same restore with the key kept in
// the data dir's own secrets folder (the fallback when no keyring works): its file is
// named by the install id too, so the copy finds it.
func TestCAFollowsCopiedDataDirWithFileSecrets(t *testing.T) {
	first := filepath.Join(t.TempDir(), "first")
	before := openCA(t, first, settings.NewFileSecrets(first))
	restored := filepath.Join(t.TempDir(), "restored")
	copyDir(t, first, restored)
	if after := openCA(t, restored, settings.NewFileSecrets(restored)); !bytes.Equal(before, after) {
		t.Fatal("the restored data dir has another CA")
	}
}
