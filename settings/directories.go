package settings

import (
	"fmt"
	"net/url"

	"github.com/convergence-ng/convergence/notary/directory"
)

// maxDirectories bounds Settings.DirectoryURLs and Settings.DirectoryKeys.
const maxDirectories = 16

// validateDirectories reports the directory URLs that are not http(s) URLs with a host
// and the keys that are not directory keys.
func validateDirectories(urls, keys []string) []error {
	var errs []error
	if len(urls) > maxDirectories || len(keys) > maxDirectories {
		errs = append(errs, fmt.Errorf("%w: %d directory URLs and %d keys; at most %d of each", ErrInvalidSettings, len(urls), len(keys), maxDirectories))
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%w: directory URL %q: want an https:// (or http://) URL", ErrInvalidSettings, raw))
		}
	}
	for _, k := range keys {
		if _, err := directory.ParsePublicKey(k); err != nil {
			errs = append(errs, fmt.Errorf("%w: directory key %q: want ed25519: and the key in base64, as 'convergence-notary directory keygen' prints it", ErrInvalidSettings, k))
		}
	}
	return errs
}
