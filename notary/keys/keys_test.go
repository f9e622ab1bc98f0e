package keys

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	for _, kt := range []string{"", KeyRSA} {
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
		if err != nil || !pub.(*ecdsa.PublicKey).Equal(id.V2Signer.Public()) || b.Region != "DE" {
			t.Fatalf("%q: bundle v2 key %v %v", kt, pub, err)
		}
		if _, err := id.Bundle(BundleOptions{Name: "Test", Hosts: []string{"notary.example.org"}, Region: "Germany"}); err == nil {
			t.Fatal("bad region accepted")
		}
	}
}
