package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// ErrNotValidated means the resolver's answer did not carry the AD bit.
var ErrNotValidated = errors.New("answer not DNSSEC-validated")

// DANE looks up TLSA records through one validating resolver (one the operator trusts,
// reached over a trusted path: the AD bit is only as good as that path). Safe for
// concurrent use.
type DANE struct {
	server  string
	timeout time.Duration
}

// NewDANE returns a DANE check asking server ("host:port") with the given timeout.
func NewDANE(server string, timeout time.Duration) *DANE {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	return &DANE{server: server, timeout: timeout}
}

// Lookup returns the TLSA records of _<port>._tcp.<host>. It returns (nil, nil) for an
// authenticated absence, and an error wrapping ErrNotValidated when the answer lacks the
// AD bit.
func (d *DANE) Lookup(ctx context.Context, host string, port int) ([]*dns.TLSA, error) {
	name := "_" + strconv.Itoa(port) + "._tcp." + dns.Fqdn(host)
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeTLSA)
	m.SetEdns0(1232, true)
	m.AuthenticatedData = true
	c := &dns.Client{Timeout: d.timeout}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	r, _, err := c.ExchangeContext(ctx, m, d.server)
	if err != nil {
		return nil, fmt.Errorf("failed to look up TLSA %q: %w", name, err)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("failed to look up TLSA %q: %s", name, dns.RcodeToString[r.Rcode])
	}
	if !r.AuthenticatedData {
		return nil, fmt.Errorf("failed to look up TLSA %q: %w", name, ErrNotValidated)
	}
	var out []*dns.TLSA
	for _, rr := range r.Answer {
		if t, ok := rr.(*dns.TLSA); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// Verdict runs the DANE check for the asked certificate: leaf is its DER if the notary
// has it (nil otherwise), sha256 its fingerprint. Only end-entity usages (1 PKIX-EE and
// 3 DANE-EE) are matched; CA usages need the chain and give no opinion.
func (d *DANE) Verdict(ctx context.Context, host string, port int, leaf []byte, sha256 string) (protocol.Verdict, string) {
	recs, err := d.Lookup(ctx, host, port)
	switch {
	case errors.Is(err, ErrNotValidated):
		return protocol.VerdictNoOpinion, "TLSA answer not DNSSEC-validated"
	case err != nil:
		return protocol.VerdictError, err.Error()
	}
	return MatchTLSA(recs, leaf, sha256)
}

// MatchTLSA matches TLSA records against a leaf certificate (DER, may be nil) or its
// SHA-256 fingerprint. It is a pure function.
func MatchTLSA(recs []*dns.TLSA, leaf []byte, sha256 string) (protocol.Verdict, string) {
	var ee []*dns.TLSA
	for _, r := range recs {
		if r.Usage == 1 || r.Usage == 3 {
			ee = append(ee, r)
		}
	}
	if len(ee) == 0 {
		if len(recs) == 0 {
			return protocol.VerdictNoOpinion, "no TLSA records"
		}
		return protocol.VerdictNoOpinion, "only CA TLSA records (usage 0 or 2), not checked"
	}
	var cert *x509.Certificate
	if leaf != nil {
		c, err := x509.ParseCertificate(leaf)
		if err != nil {
			return protocol.VerdictError, fmt.Sprintf("failed to parse certificate: %v", err)
		}
		cert = c
	}
	for _, r := range ee {
		if cert != nil {
			if r.Verify(cert) == nil {
				return protocol.VerdictAgree, fmt.Sprintf("matches TLSA %d %d %d", r.Usage, r.Selector, r.MatchingType)
			}
			continue
		}
		if r.Selector == 0 && r.MatchingType == 1 && strings.EqualFold(r.Certificate, sha256) {
			return protocol.VerdictAgree, fmt.Sprintf("matches TLSA %d 0 1", r.Usage)
		}
	}
	if cert == nil {
		return protocol.VerdictNoOpinion, "the notary has not received this certificate to match its TLSA records"
	}
	return protocol.VerdictDisagree, fmt.Sprintf("no TLSA record matches (%d end-entity records)", len(ee))
}
