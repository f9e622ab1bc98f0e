package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	for _, kt := range []string{"", KeyRSA, KeyEd25519} {
		dir := filepath.Join(t.TempDir(), "data")
		id, err := LoadOrCreate(dir, kt, []string{"notary.example.org"})
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(dir, KeyFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%q: key file mode %v %v", kt, st.Mode(), err)
		}
		again, err := LoadOrCreate(dir, "", nil)
		if err != nil || !again.Cert.Equal(id.Cert) {
			t.Fatalf("%q: reload gave another certificate: %v", kt, err)
		}
		switch kt {
		case KeyRSA:
			if _, ok := id.Signer.(*rsa.PrivateKey); !ok || id.V2Signer == id.Signer {
				t.Fatalf("rsa identity: %T / %T", id.Signer, id.V2Signer)
			}
			if _, err := LoadOrCreate(dir, KeyECDSA, nil); !errors.Is(err, ErrKeyTypeMismatch) {
				t.Fatalf("type mismatch: %v", err)
			}
			// A new RSA notary's v2 key is Ed25519.
			if _, ok := id.V2Signer.(ed25519.PrivateKey); !ok {
				t.Fatalf("rsa identity's v2 key: %T, want Ed25519", id.V2Signer)
			}
		case KeyEd25519:
			if _, ok := id.Signer.(ed25519.PrivateKey); !ok || id.KeyType != KeyEd25519 {
				t.Fatalf("ed25519 identity: %T %q", id.Signer, id.KeyType)
			}
			if _, err := LoadOrCreate(dir, KeyECDSA, nil); !errors.Is(err, ErrKeyTypeMismatch) {
				t.Fatalf("type mismatch: %v", err)
			}
		default:
			if _, ok := id.Signer.(*ecdsa.PrivateKey); !ok || id.V2Signer != id.Signer {
				t.Fatalf("ecdsa identity: %T", id.Signer)
			}
		}
		b, err := id.Bundle(BundleOptions{Name: "Test", Hosts: []string{"notary.example.org"}, Region: "de"})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := b.V2PublicKey(b.Hosts[0])
		if err != nil || !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(id.V2Signer.Public()) || b.Region != "DE" {
			t.Fatalf("%q: bundle v2 key %v %v", kt, pub, err)
		}
		if _, err := id.Bundle(BundleOptions{Name: "Test", Hosts: []string{"notary.example.org"}, Region: "Germany"}); err == nil {
			t.Fatal("bad region accepted")
		}
	}
}

// TestExistingKeysKeepLoading: an RSA notary made before v2 keys were Ed25519 has an
// ECDSA v2 key; it keeps signing with it, and its bundle names it.
func TestExistingKeysKeepLoading(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := LoadOrCreate(dir, KeyRSA, []string{"notary.example.org"}); err != nil {
		t.Fatal(err)
	}
	old, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKey(filepath.Join(dir, V2KeyFile), old); err != nil {
		t.Fatal(err)
	}
	id, err := LoadOrCreate(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := id.V2Signer.(*ecdsa.PrivateKey); !ok || !k.Equal(old) {
		t.Fatalf("v2 key %T, want the existing ECDSA key", id.V2Signer)
	}
	b, err := id.Bundle(BundleOptions{Name: "Test", Hosts: []string{"notary.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := b.V2PublicKey(b.Hosts[0]); err != nil || !old.PublicKey.Equal(pub) {
		t.Fatalf("bundle v2 key %v %v", pub, err)
	}
}
