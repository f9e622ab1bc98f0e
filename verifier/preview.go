package verifier

import (
	"context"
	"fmt"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// ReadBundle reads a .notary bundle from a file path or an https:// URL and parses it
// without trusting it, so the user can see who they are about to trust. It returns the
// bytes read with what they say: to trust exactly what was shown, pass those bytes to
// ImportBundleBytes (a URL or a file may give other bytes when read again). A malformed
// bundle is an error.
func (v *Verifier) ReadBundle(ctx context.Context, source string) ([]byte, protocol.Bundle, error) {
	raw, err := readBundle(ctx, source, v.cfg.Dial, v.cfg.bundleRoots)
	if err != nil {
		return nil, protocol.Bundle{}, err
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		return nil, protocol.Bundle{}, fmt.Errorf("failed to read bundle %q: %w", source, err)
	}
	return raw, b, nil
}
