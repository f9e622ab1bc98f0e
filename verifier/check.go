package verifier

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// SiteFetchTimeout bounds Check's connection to the site.
const SiteFetchTimeout = 15 * time.Second

// Check connects to the site, takes the certificate chain it presents and asks the
// notaries about it, skipping pins, exemptions and the cache (it is the terminal's
// "convergence check": the user wants the notaries' word now). The verdict is cached
// like any other. A site that cannot be reached is an error.
func (v *Verifier) Check(ctx context.Context, t Target) (Verdict, error) {
	host, err := protocol.NormalizeHost(t.Host)
	if err != nil {
		return Verdict{}, fmt.Errorf("failed to check %q: %w", t.String(), err)
	}
	if err := protocol.CheckPort(t.Port); err != nil {
		return Verdict{}, fmt.Errorf("failed to check %q: %w", t.String(), err)
	}
	t.Host = host
	chain, err := v.fetchChain(ctx, t)
	if err != nil {
		return Verdict{}, fmt.Errorf("failed to check %q: %w", t.String(), err)
	}
	if v.ctx.Err() != nil {
		return Verdict{}, fmt.Errorf("failed to check %q: %w", t.String(), ErrClosed)
	}
	base := Verdict{Target: t, FingerprintSHA256: FingerprintSHA256(chain[0]), Time: v.now()}
	return v.askShared(ctx, base, chain[0])
}

// fetchChain does a TLS handshake with the site and returns the chain it presented.
// Nothing is trusted here: the notaries judge the chain.
func (v *Verifier) fetchChain(ctx context.Context, t Target) ([]*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, SiteFetchTimeout)
	defer cancel()
	dial := v.cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(ctx, "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	cfg := &tls.Config{InsecureSkipVerify: true} // the notaries judge; see above
	if net.ParseIP(t.Host) == nil {
		cfg.ServerName = t.Host
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("failed to complete TLS handshake: %w", err)
	}
	defer conn.Close()
	chain := conn.ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, ErrNoCertificate
	}
	return chain, nil
}
