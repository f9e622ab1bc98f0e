package localproxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

func TestLoadOrCreateCA(t *testing.T) {
	dir, secrets := t.TempDir(), settings.NewMemorySecrets()
	ca, err := LoadOrCreateCA(dir, secrets)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	c := ca.Certificate()
	if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA constraints: IsCA=%v MaxPathLen=%d zero=%v usage=%b", c.IsCA, c.MaxPathLen, c.MaxPathLenZero, c.KeyUsage)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", c.PublicKey)
	}
	if !strings.HasPrefix(c.Subject.CommonName, "Convergence Local CA ") || len(c.Subject.CommonName) != len("Convergence Local CA ")+8 {
		t.Errorf("CA name %q", c.Subject.CommonName)
	}
	if !c.NotBefore.Before(time.Now()) || c.NotAfter.Before(time.Now().Add(9*365*24*time.Hour)) {
		t.Errorf("CA validity %v .. %v", c.NotBefore, c.NotAfter)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil || !bytes.Equal(onDisk, ca.CertPEM()) {
		t.Fatalf("ca.pem on disk differs from CertPEM (err %v)", err)
	}
	key, err := secrets.Get(CAKeySecret)
	if err != nil || !bytes.Contains(key, []byte("BEGIN PRIVATE KEY")) {
		t.Fatalf("key in secrets: %v %.30q", err, key)
	}

	again, err := LoadOrCreateCA(dir, secrets)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !again.Certificate().Equal(c) {
		t.Errorf("second load made a new CA")
	}

	other, err := LoadOrCreateCA(t.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		t.Fatal(err)
	}
	if other.Certificate().Subject.CommonName == c.Subject.CommonName {
		t.Errorf("two installs share the CA name %q", c.Subject.CommonName)
	}
}

func TestLoadOrCreateCAHalfMissing(t *testing.T) {
	t.Run("key missing", func(t *testing.T) {
		dir, secrets := t.TempDir(), settings.NewMemorySecrets()
		if _, err := LoadOrCreateCA(dir, secrets); err != nil {
			t.Fatal(err)
		}
		secrets.Delete(CAKeySecret)
		_, err := LoadOrCreateCA(dir, secrets)
		if !errors.Is(err, ErrCAIncomplete) || !strings.Contains(err.Error(), "private key") {
			t.Fatalf("err = %v, want ErrCAIncomplete about the key", err)
		}
		if _, err := secrets.Get(CAKeySecret); !errors.Is(err, settings.ErrSecretNotFound) {
			t.Errorf("load regenerated the key without being asked")
		}
	})
	t.Run("cert missing", func(t *testing.T) {
		dir, secrets := t.TempDir(), settings.NewMemorySecrets()
		if _, err := LoadOrCreateCA(dir, secrets); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, CACertFile))
		_, err := LoadOrCreateCA(dir, secrets)
		if !errors.Is(err, ErrCAIncomplete) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want ErrCAIncomplete about the certificate", err)
		}
		ca, err := RegenerateCA(dir, secrets)
		if err != nil {
			t.Fatalf("regenerate: %v", err)
		}
		if _, err := LoadOrCreateCA(dir, secrets); err != nil {
			t.Fatalf("load after regenerate: %v", err)
		}
		if ca == nil {
			t.Fatal("nil CA")
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		dir, secrets := t.TempDir(), settings.NewMemorySecrets()
		if _, err := LoadOrCreateCA(dir, secrets); err != nil {
			t.Fatal(err)
		}
		otherSecrets := settings.NewMemorySecrets()
		if _, err := LoadOrCreateCA(t.TempDir(), otherSecrets); err != nil {
			t.Fatal(err)
		}
		k, _ := otherSecrets.Get(CAKeySecret)
		secrets.Set(CAKeySecret, k)
		if _, err := LoadOrCreateCA(dir, secrets); !errors.Is(err, ErrCAMismatch) {
			t.Fatalf("err = %v, want ErrCAMismatch", err)
		}
	})
}

func TestRegenerateCADropsLeaves(t *testing.T) {
	dir, secrets := t.TempDir(), settings.NewMemorySecrets()
	old, err := LoadOrCreateCA(dir, secrets)
	if err != nil {
		t.Fatal(err)
	}
	oldLeaf, err := old.Leaf("site.test")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := RegenerateCA(dir, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Certificate().Equal(old.Certificate()) {
		t.Fatal("RegenerateCA kept the old certificate")
	}
	leaf, err := fresh.Leaf("site.test")
	if err != nil {
		t.Fatal(err)
	}
	if leaf == oldLeaf || leaf.Leaf.CheckSignatureFrom(fresh.Certificate()) != nil {
		t.Errorf("leaf after regeneration is not signed by the new CA")
	}
	loaded, err := LoadOrCreateCA(dir, secrets)
	if err != nil || !loaded.Certificate().Equal(fresh.Certificate()) {
		t.Errorf("load after regenerate: %v", err)
	}
}

func TestLeaf(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	for _, name := range []string{"Site.Test.", "127.0.0.1", "[::1]", "xn--bcher-kva.example"} {
		cert, err := ca.Leaf(name)
		if err != nil {
			t.Fatalf("Leaf(%q): %v", name, err)
		}
		want, _ := normalizeServerName(name)
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: want, Roots: pool}); err != nil {
			t.Errorf("leaf for %q does not verify: %v", name, err)
		}
		if pub, ok := cert.Leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			t.Errorf("leaf key %T", cert.Leaf.PublicKey)
		}
		if d := time.Until(cert.Leaf.NotAfter); d > 8*24*time.Hour || d < 6*24*time.Hour {
			t.Errorf("leaf validity %v", d)
		}
		if again, _ := ca.Leaf(name); again != cert {
			t.Errorf("second Leaf(%q) minted again", name)
		}
	}
	for _, bad := range []string{"", "a..b", "bad name", "x/y", strings.Repeat("a", 64) + ".test"} {
		if _, err := ca.Leaf(bad); !errors.Is(err, ErrBadServerName) {
			t.Errorf("Leaf(%q) err = %v, want ErrBadServerName", bad, err)
		}
	}
}

func TestLeafConcurrentMintOnce(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := ca.Leaf("together.test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := ca.leaves.mints.Load(); n != 1 {
		t.Errorf("minted %d leaves for one name, want 1", n)
	}
}

func TestLeafCacheBoundAndExpiry(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		t.Fatal(err)
	}
	ca.leaves.max = 3
	for _, n := range []string{"a.test", "b.test", "c.test", "d.test"} {
		if _, err := ca.Leaf(n); err != nil {
			t.Fatal(err)
		}
	}
	if got := ca.leaves.ll.Len(); got != 3 {
		t.Errorf("cache holds %d, want bound 3", got)
	}
	if ca.leaves.get("a.test", time.Now()) != nil {
		t.Errorf("least recently used entry survived")
	}
	if ca.leaves.get("d.test", time.Now().Add(leafValidity)) != nil {
		t.Errorf("expired entry was reused")
	}
}
