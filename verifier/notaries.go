package verifier

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// ImportOptions tune ImportBundle.
type ImportOptions struct {
	// ConfirmRevoked trusts a notary again that the user revoked before. Without it,
	// importing such a bundle fails with ErrPreviouslyRevoked.
	ConfirmRevoked bool
	// Disabled imports the notary without asking it during checks.
	Disabled bool
}

// ImportBundle reads a .notary bundle (v0, v1, with or without our v2 extras) from a
// file path or an https:// URL and trusts it as ImportBundleBytes does.
func (v *Verifier) ImportBundle(ctx context.Context, source string, opts ImportOptions) (settings.Notary, error) {
	raw, err := readBundle(ctx, source, v.cfg.Dial, v.cfg.bundleRoots)
	if err != nil {
		return settings.Notary{}, err
	}
	return v.ImportBundleBytes(ctx, raw, source, opts)
}

// ImportBundleBytes checks the .notary bundle raw, read from source (a file path or an
// https:// URL, as given to ReadBundle; the notary records it as where it came from),
// and stores the notary (replacing hosts and name details of one with the same name,
// keeping its enabled state). It reads nothing from source: what is trusted is exactly
// raw. A bundle of a notary the user revoked (same name, or a host certificate the
// revoked notary had) fails with an error matching ErrPreviouslyRevoked unless
// opts.ConfirmRevoked.
func (v *Verifier) ImportBundleBytes(ctx context.Context, raw []byte, source string, opts ImportOptions) (settings.Notary, error) {
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		return settings.Notary{}, fmt.Errorf("failed to import bundle %q: %w", source, err)
	}
	all, err := v.store.Notaries(ctx)
	if err != nil {
		return settings.Notary{}, fmt.Errorf("failed to import bundle %q: %w", source, err)
	}
	var revoked []string
	for _, n := range all {
		if n.Revoked && (n.Name == b.Name || sharesCertificate(n, b)) {
			revoked = append(revoked, n.Name)
		}
	}
	if len(revoked) > 0 && !opts.ConfirmRevoked {
		return settings.Notary{}, fmt.Errorf("failed to import bundle %q: notary %q: %w (revoked as %q)", source, b.Name, ErrPreviouslyRevoked, revoked)
	}
	n := settings.Notary{
		Name:           b.Name,
		Region:         b.Region,
		BundleLocation: b.BundleLocation,
		Source:         originOf(source),
		Enabled:        !opts.Disabled,
		Bundle:         raw,
	}
	for _, h := range b.Hosts {
		n.Hosts = append(n.Hosts, settings.NotaryHost{Host: h.Host, SSLPort: h.SSLPort, HTTPPort: h.HTTPPort, CertificatePEM: h.CertificatePEM})
	}
	stored, err := v.store.PutNotary(ctx, n)
	if err != nil {
		return settings.Notary{}, fmt.Errorf("failed to import bundle %q: %w", source, err)
	}
	// A cached vouch is kept by the notary's name. Under a name that is new, or whose
	// hosts or keys changed, it was another notary's word: it must not count for this
	// one (a removed notary's verdicts that passed without it keep its name).
	if !slices.ContainsFunc(all, func(o settings.Notary) bool { return o.Name == b.Name && sameKeys(o, b) }) {
		if _, err := v.ClearCacheVouchedBy(ctx, b.Name); err != nil {
			return settings.Notary{}, fmt.Errorf("failed to import bundle %q: %w", source, err)
		}
	}
	for _, name := range revoked { // confirmed by the caller
		if err := v.store.UnrevokeNotary(ctx, name); err != nil {
			return settings.Notary{}, fmt.Errorf("failed to import bundle %q: %w", source, err)
		}
	}
	if len(revoked) > 0 {
		if stored, err = v.store.Notary(ctx, b.Name); err != nil {
			return settings.Notary{}, fmt.Errorf("failed to import bundle %q: %w", source, err)
		}
	}
	if err := v.Reload(ctx); err != nil {
		return settings.Notary{}, fmt.Errorf("failed to import bundle %q: %w", source, err)
	}
	return stored, nil
}

// sameKeys reports whether the stored notary has exactly b's hosts and certificates.
func sameKeys(n settings.Notary, b protocol.Bundle) bool {
	if len(n.Hosts) != len(b.Hosts) {
		return false
	}
	for i, h := range n.Hosts {
		bh := b.Hosts[i]
		if h.Host != bh.Host || h.SSLPort != bh.SSLPort || bh.Certificate == nil || !samePEMCert(h.CertificatePEM, bh.Certificate.Raw) {
			return false
		}
	}
	return true
}

// sharesCertificate reports whether the stored notary pinned any certificate of b.
func sharesCertificate(n settings.Notary, b protocol.Bundle) bool {
	for _, h := range n.Hosts {
		for _, bh := range b.Hosts {
			if bh.Certificate != nil && samePEMCert(h.CertificatePEM, bh.Certificate.Raw) {
				return true
			}
		}
	}
	return false
}

// Revoke withdraws trust from a notary: it leaves every later decision at once, and
// every cached verdict that needed its vote to pass is dropped (recomputed without
// it). The store remembers the revocation so a re-import asks first. It returns how
// many cached verdicts were dropped.
func (v *Verifier) Revoke(ctx context.Context, name string) (int, error) {
	if err := v.store.RevokeNotary(ctx, name); err != nil {
		return 0, err // it names the notary and the operation
	}
	// The reload stops asking the notary and purges the verdicts that needed it.
	n, err := v.reload(ctx)
	if err != nil {
		return n, fmt.Errorf("failed to revoke notary %q: %w", name, err)
	}
	return n, nil
}

// Unrevoke undoes Revoke: the notary is asked again at once.
func (v *Verifier) Unrevoke(ctx context.Context, name string) error {
	if err := v.store.UnrevokeNotary(ctx, name); err != nil {
		return fmt.Errorf("failed to undo the revocation of notary %q: %w", name, err)
	}
	return v.Reload(ctx)
}

// SetEnabled asks, or stops asking, a notary without revoking it. Switched off, its
// past vouching no longer counts: the cached verdicts that needed it are dropped at
// once, as on revocation. It returns how many were dropped.
func (v *Verifier) SetEnabled(ctx context.Context, name string, enabled bool) (int, error) {
	verb := map[bool]string{true: "enable", false: "disable"}[enabled]
	if err := v.store.SetNotaryEnabled(ctx, name, enabled); err != nil {
		return 0, err // it names the notary and the operation
	}
	n, err := v.reload(ctx)
	if err != nil {
		return n, fmt.Errorf("failed to %s notary %q: %w", verb, name, err)
	}
	return n, nil
}

// Remove forgets a notary altogether (a later import of its bundle is a new notary,
// with no question asked). The cached verdicts that needed it are dropped at once. It
// returns how many were dropped.
func (v *Verifier) Remove(ctx context.Context, name string) (int, error) {
	if err := v.store.DeleteNotary(ctx, name); err != nil {
		return 0, err // it names the notary and the operation
	}
	n, err := v.reload(ctx)
	if err != nil {
		return n, fmt.Errorf("failed to remove notary %q: %w", name, err)
	}
	return n, nil
}

// purgeStale drops every cached verdict, in memory and in the store, that no longer
// meets snapshot s's rule counting only the notaries it would ask now (recount), and
// returns how many distinct verdicts it dropped.
func (v *Verifier) purgeStale(ctx context.Context, s *snapshot) (int, error) {
	dropped := map[cacheKey]bool{}
	v.cache.deleteWhere(func(k cacheKey, e cached) bool {
		if s.stillPasses(Target{Host: k.host, Port: k.port}, e.vouchers) {
			return false
		}
		dropped[k] = true
		return true
	})
	entries, err := v.store.CacheEntries(ctx)
	if err != nil {
		return len(dropped), fmt.Errorf("failed to purge cached verdicts: %w", err)
	}
	var errs []error
	for _, e := range entries {
		k := cacheKey{e.Host, e.Port, e.FingerprintSHA256}
		if s.stillPasses(Target{Host: k.host, Port: k.port}, e.Vouchers) {
			continue
		}
		if err := v.store.DeleteCacheEntry(ctx, e.Host, e.Port, e.FingerprintSHA256); err != nil && !errors.Is(err, settings.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		dropped[k] = true
	}
	return len(dropped), errors.Join(errs...)
}

// ListNotaries returns every stored notary, revoked and disabled ones included.
func (v *Verifier) ListNotaries(ctx context.Context) ([]settings.Notary, error) {
	ns, err := v.store.Notaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to list notaries: %w", err)
	}
	return ns, nil
}

// ClearCache forgets every cached verdict and returns how many the store held.
func (v *Verifier) ClearCache(ctx context.Context) (int, error) {
	v.cache.deleteWhere(func(cacheKey, cached) bool { return true })
	n, err := v.store.ClearCache(ctx)
	if err != nil {
		return 0, fmt.Errorf("failed to clear the verdict cache: %w", err)
	}
	return n, nil
}

// ForgetMemoryCache drops the verdicts kept in memory, not those in the store: the
// next lookups read the store again. For when another process changed the store.
func (v *Verifier) ForgetMemoryCache() {
	v.cache.deleteWhere(func(cacheKey, cached) bool { return true })
}

// ClearCacheSite forgets the cached verdicts for one site (every certificate).
func (v *Verifier) ClearCacheSite(ctx context.Context, t Target) (int, error) {
	host, err := protocol.NormalizeHost(t.Host)
	if err != nil {
		return 0, fmt.Errorf("failed to clear the cache for %q: %w", t.String(), err)
	}
	v.cache.deleteWhere(func(k cacheKey, _ cached) bool { return k.host == host && k.port == t.Port })
	n, err := v.store.DeleteCache(ctx, host, t.Port)
	if err != nil {
		return 0, fmt.Errorf("failed to clear the cache for %q: %w", t.String(), err)
	}
	return n, nil
}

// ClearCacheVouchedBy forgets every cached verdict the named notary vouched for,
// whether or not it needed that vote.
func (v *Verifier) ClearCacheVouchedBy(ctx context.Context, notary string) (int, error) {
	v.cache.deleteWhere(func(_ cacheKey, e cached) bool { return slices.Contains(e.vouchers, notary) })
	n, err := v.store.DeleteCacheVouchedBy(ctx, notary)
	if err != nil {
		return 0, fmt.Errorf("failed to clear the cache vouched by %q: %w", notary, err)
	}
	return n, nil
}

// Pin trusts the certificate with SHA-256 fingerprint fp for t whatever the notaries
// say (a user exception), for good, effective at once.
func (v *Verifier) Pin(ctx context.Context, t Target, fp, note string) error {
	return v.PinFor(ctx, t, fp, note, PinTerms{})
}

// PinTerms say for how long a pin holds; the zero value is for good.
type PinTerms struct {
	Until       time.Time // when not zero, the pin ends then
	UntilChange bool      // the pin ends when the site shows another certificate
}

// PinFor is Pin with terms: the pin ends at terms.Until, or when the site shows
// another certificate (terms.UntilChange), whichever comes first.
func (v *Verifier) PinFor(ctx context.Context, t Target, fp, note string, terms PinTerms) error {
	host, err := protocol.NormalizeHost(t.Host)
	if err != nil {
		return fmt.Errorf("failed to pin %q: %w", t.String(), err)
	}
	p := settings.Pin{Host: host, Port: t.Port, FingerprintSHA256: fp, Note: note, Expires: terms.Until, UntilChange: terms.UntilChange}
	if err := v.store.PutPin(ctx, p); err != nil {
		return fmt.Errorf("failed to pin %q: %w", t.String(), err)
	}
	return v.Reload(ctx)
}

// Unpin removes a user exception, effective at once.
func (v *Verifier) Unpin(ctx context.Context, t Target, fp string) error {
	host, err := protocol.NormalizeHost(t.Host)
	if err != nil {
		return fmt.Errorf("failed to unpin %q: %w", t.String(), err)
	}
	if err := v.store.DeletePin(ctx, host, t.Port, fp); err != nil {
		return fmt.Errorf("failed to unpin %q: %w", t.String(), err)
	}
	return v.Reload(ctx)
}
