package verifier

import (
	"context"
	"fmt"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// PreviewBundle reads a .notary bundle from a file path or an https:// URL, as
// ImportBundle does, and parses it without trusting it, so the user can see who they
// are about to trust. A malformed bundle is an error.
func (v *Verifier) PreviewBundle(ctx context.Context, source string) (protocol.Bundle, error) {
	raw, _, err := readBundle(ctx, source, v.cfg.Dial, v.cfg.bundleRoots)
	if err != nil {
		return protocol.Bundle{}, err
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		return protocol.Bundle{}, fmt.Errorf("failed to read bundle %q: %w", source, err)
	}
	return b, nil
}
