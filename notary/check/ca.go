// Package check holds the notary's checks besides the network perspective: CA
// validation of a received chain, and DANE/TLSA lookup through a validating resolver.
package check

import (
	"crypto/x509"
	"fmt"
	"time"
)

// VerifyChain validates chain (leaf first, as received) for host against roots (nil:
// the system roots) at time now. It returns whether it is valid and, if not, why in
// plain words (the x509 error text).
func VerifyChain(chain []*x509.Certificate, host string, roots *x509.CertPool, now time.Time) (bool, string) {
	if len(chain) == 0 {
		return false, "no certificate"
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return false, fmt.Sprintf("chain does not validate: %v", err)
	}
	return true, ""
}
