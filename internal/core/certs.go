package core

import (
	"context"
	"crypto/x509"
	"sync"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/verifier"
)

// maxRememberedCerts bounds the leaf certificates kept for the details view.
const maxRememberedCerts = 2048

// certMemory keeps the most recent leaf certificates by SHA-256 fingerprint, so the
// UI can show a verdict's certificate. Safe for concurrent use.
type certMemory struct {
	mu    sync.Mutex // protects certs, order
	certs map[string]*x509.Certificate
	order []string // oldest first
}

func (m *certMemory) remember(c *x509.Certificate) {
	fp := verifier.FingerprintSHA256(c)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.certs == nil {
		m.certs = map[string]*x509.Certificate{}
	}
	if _, ok := m.certs[fp]; ok {
		return
	}
	if len(m.order) >= maxRememberedCerts {
		delete(m.certs, m.order[0])
		m.order = m.order[1:]
	}
	m.certs[fp] = c
	m.order = append(m.order, fp)
}

func (m *certMemory) get(fp string) (*x509.Certificate, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.certs[fp]
	return c, ok
}

// rememberingChecker hands every leaf it checks to a certMemory.
type rememberingChecker struct {
	localproxy.Checker
	mem *certMemory
}

// Recheck hands the proxy's rechecks of kept connections to the verifier (false when
// the Checker cannot recheck: then nothing is kept).
func (r rememberingChecker) Recheck(ctx context.Context, t verifier.Target, chain []*x509.Certificate) bool {
	rc, ok := r.Checker.(localproxy.Rechecker)
	return ok && rc.Recheck(ctx, t, chain)
}

func (r rememberingChecker) Verify(ctx context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	if len(chain) > 0 {
		r.mem.remember(chain[0])
	}
	return r.Checker.Verify(ctx, t, chain)
}
