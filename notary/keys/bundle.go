package keys

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// BundleOptions describe the notary for its .notary bundle.
type BundleOptions struct {
	Name     string   // organisation name
	Hosts    []string // host names (or IPs) clients reach the notary at
	SSLPort  int      // default 443
	HTTPPort int      // default 80 (the original's relay port; this notary does not serve it)
	Region   string   // ISO 3166 alpha-2, optional
	Location string   // https URL the bundle is published at, optional
}

// Bundle returns the identity's bundle: v1 format with the v2 extras.
func (id *Identity) Bundle(o BundleOptions) (protocol.Bundle, error) {
	if o.SSLPort == 0 {
		o.SSLPort = 443
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = 80
	}
	b := protocol.Bundle{Version: 1, Name: o.Name, Region: o.Region, BundleLocation: o.Location,
		V2: &protocol.BundleV2{Protocols: []int{1, 2}, KeyType: "ecdsa-p256"}}
	if id.KeyType == KeyEd25519 {
		b.V2.KeyType = "ed25519"
	}
	if id.KeyType == KeyRSA {
		b.V2.KeyType = "rsa-2048"
		der, err := x509.MarshalPKIXPublicKey(id.V2Signer.Public())
		if err != nil {
			return protocol.Bundle{}, fmt.Errorf("failed to encode v2 key: %w", err)
		}
		b.V2.SigningKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	for _, h := range o.Hosts {
		b.Hosts = append(b.Hosts, protocol.BundleHost{Host: h, SSLPort: o.SSLPort, HTTPPort: o.HTTPPort, CertificatePEM: id.CertPEM})
	}
	// Round-trip through the parser so every rule (region, URL, host) is checked here.
	data, err := protocol.MarshalBundle(b)
	if err != nil {
		return protocol.Bundle{}, err
	}
	return protocol.ParseBundle(data)
}
