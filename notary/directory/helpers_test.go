package directory

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// testEntry makes a real entry: a bundle with a fresh self-signed certificate per call.
func testEntry(t testing.TB, name, operator, country, network, listed string, hosts ...string) Entry {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	b := protocol.Bundle{Version: 1, Name: name, V2: &protocol.BundleV2{Protocols: []int{1, 2}, KeyType: "ed25519"}}
	for _, h := range hosts {
		b.Hosts = append(b.Hosts, protocol.BundleHost{Host: h, SSLPort: 443, HTTPPort: 80,
			CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))})
	}
	bj, err := protocol.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEntry(fmt.Appendf(nil, `{"operator":%q,"country":%q,"network":%q,"contact":"mailto:x@example.org","protocols":[1,2],"listed":%q,"bundle":%s}`,
		operator, country, network, listed, bj))
	if err != nil {
		t.Fatal(err)
	}
	return e
}
