package core

import (
	"context"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// The notary operations the window and the terminal share. Each one changes the store
// through the verifier, which applies it at once (a running app in another process
// picks it up through RunStoreWatch).

// Notaries lists every notary, revoked and disabled ones included, in a stable order.
func (c *Core) Notaries(ctx context.Context) ([]settings.Notary, error) {
	return c.Verifier.ListNotaries(ctx)
}

// PreviewBundle reads a .notary bundle from a file path or an https URL and parses it
// without trusting it; ImportBundle trusts the bytes it returns.
func (c *Core) PreviewBundle(ctx context.Context, src string) ([]byte, protocol.Bundle, error) {
	return c.Verifier.ReadBundle(ctx, src)
}

// PreviewBundleFrom is PreviewBundle for an https URL whose server shows the
// certificate with SHA-256 fingerprint serverFP, trusted even when no certificate
// authority signed it (verifier.Verifier.ReadBundleFrom): a notary's own URL.
func (c *Core) PreviewBundleFrom(ctx context.Context, src, serverFP string) ([]byte, protocol.Bundle, error) {
	return c.Verifier.ReadBundleFrom(ctx, src, serverFP)
}

// ImportBundle trusts raw, a bundle PreviewBundle read from src (kept as where the
// notary came from). Unless confirmRevoked, a notary the user revoked before fails with
// an error matching verifier.ErrPreviouslyRevoked.
func (c *Core) ImportBundle(ctx context.Context, raw []byte, src string, confirmRevoked bool) (settings.Notary, error) {
	return c.Verifier.ImportBundleBytes(ctx, raw, src, verifier.ImportOptions{ConfirmRevoked: confirmRevoked})
}

// Revoke stops trusting a notary at once; it stays listed as revoked, and a re-import
// asks first. It returns how many cached verdicts that needed it were dropped.
func (c *Core) Revoke(ctx context.Context, name string) (int, error) {
	return c.Verifier.Revoke(ctx, name)
}

// Unrevoke undoes Revoke.
func (c *Core) Unrevoke(ctx context.Context, name string) error {
	return c.Verifier.Unrevoke(ctx, name)
}

// SetNotaryEnabled asks, or stops asking, a notary without revoking it. It returns how
// many cached verdicts that needed it were dropped.
func (c *Core) SetNotaryEnabled(ctx context.Context, name string, enabled bool) (int, error) {
	return c.Verifier.SetEnabled(ctx, name, enabled)
}

// RemoveNotary forgets a notary. It returns how many cached verdicts that needed it
// were dropped.
func (c *Core) RemoveNotary(ctx context.Context, name string) (int, error) {
	return c.Verifier.Remove(ctx, name)
}

// RefreshBundles fetches every notary's bundle again from its https location now.
func (c *Core) RefreshBundles(ctx context.Context) (verifier.RefreshReport, error) {
	return c.Verifier.RefreshBundles(ctx)
}

// KeyChange compares b with the notary trusted under its name (not revoked): whether
// its hosts or keys differ, old and new (verifier.CompareKeys). known is false when no
// such notary is trusted. The window and the terminal show a change side by side and
// keep the old unless the user chooses the new.
func (c *Core) KeyChange(ctx context.Context, b protocol.Bundle) (kc verifier.KeyChange, known bool, err error) {
	ns, err := c.Notaries(ctx)
	if err != nil {
		return verifier.KeyChange{}, false, err
	}
	for _, n := range ns {
		if n.Name == b.Name && !n.Revoked {
			return verifier.CompareKeys(n, b), true, nil
		}
	}
	return verifier.KeyChange{}, false, nil
}
