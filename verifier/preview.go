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
	return v.ReadBundleFrom(ctx, source, "")
}

// ReadBundleFrom is ReadBundle given serverFP, the SHA-256 fingerprint (canonical, see
// protocol.NormalizeSHA256Fingerprint) of the certificate the https URL's server shows:
// such a server is trusted with that certificate even when no certificate authority
// signed it, as a notary serving its own bundle over its own certificate. It proves
// only where the bytes came from: the caller checks that the bundle pins what the user
// expects. An empty serverFP is ReadBundle.
func (v *Verifier) ReadBundleFrom(ctx context.Context, source, serverFP string) ([]byte, protocol.Bundle, error) {
	var fps []string
	if serverFP != "" {
		fps = []string{serverFP}
	}
	raw, err := readBundle(ctx, source, v.cfg.Dial, v.cfg.bundleRoots, fps...)
	if err != nil {
		return nil, protocol.Bundle{}, err
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		return nil, protocol.Bundle{}, fmt.Errorf("failed to read bundle %q: %w", source, err)
	}
	return raw, b, nil
}
