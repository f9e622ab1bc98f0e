package core

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// The verdict operations the window and the terminal share: the cache, the user's
// pins, and a check on demand.

// Check connects to the site and asks the notaries about the certificate it presents
// now, skipping pins, exemptions and the cache.
func (c *Core) Check(ctx context.Context, t verifier.Target) (verifier.Verdict, error) {
	return c.Verifier.Check(ctx, t)
}

// CacheEntries lists the cached verdicts.
func (c *Core) CacheEntries(ctx context.Context) ([]settings.CacheEntry, error) {
	return c.Store.CacheEntries(ctx)
}

// ClearCache forgets every cached verdict and returns how many there were.
func (c *Core) ClearCache(ctx context.Context) (int, error) { return c.Verifier.ClearCache(ctx) }

// ClearCacheSite forgets the cached verdicts for one site and returns how many.
func (c *Core) ClearCacheSite(ctx context.Context, t verifier.Target) (int, error) {
	return c.Verifier.ClearCacheSite(ctx, t)
}

// ForgetSite removes the cached verdicts for the target and, when fingerprintSHA256 is
// not empty, the user's pin for that certificate (a missing pin is not an error), so
// that the next visit asks the notaries again.
func (c *Core) ForgetSite(ctx context.Context, t verifier.Target, fingerprintSHA256 string) error {
	if _, err := c.Verifier.ClearCacheSite(ctx, t); err != nil {
		return err
	}
	if fingerprintSHA256 == "" {
		return nil
	}
	if err := c.Verifier.Unpin(ctx, t, fingerprintSHA256); err != nil && !errors.Is(err, settings.ErrNotFound) {
		return err
	}
	return nil
}

// Certificate returns a leaf certificate the proxy checked recently, by the lowercase
// hex SHA-256 of its DER; an error when it is no longer kept.
func (c *Core) Certificate(_ context.Context, fp string) (*x509.Certificate, error) {
	if cert, ok := c.certs.get(fp); ok {
		return cert, nil
	}
	return nil, fmt.Errorf("certificate %q is no longer kept: %w", fp, settings.ErrNotFound)
}
