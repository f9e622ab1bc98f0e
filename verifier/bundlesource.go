package verifier

import (
	"net/url"
	"os"
	"strings"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// WellKnownBundlePath is where a notary serves its own bundle (docs/PROTOCOL.md).
const WellKnownBundlePath = "/.well-known/convergence.notary"

// ResolveBundleSource turns what a user typed for a notary into a bundle source: a
// file that exists stays a path, as does a name ending in .notary; a bare name ("notary.example.org", or with a port)
// or an https:// URL with no path is the notary's well-known bundle URL
// (https://notary.example.org/.well-known/convergence.notary); anything else is
// returned trimmed, for ReadBundle to accept or refuse (http:// is refused there).
func ResolveBundleSource(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if _, err := os.Stat(s); err == nil {
		return s
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "https://") {
		u, err := url.Parse(s)
		if err == nil && u.Host != "" && (u.Path == "" || u.Path == "/") && u.RawQuery == "" {
			u.Path = WellKnownBundlePath
			return u.String()
		}
		return s
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, `/\`) {
		return s
	}
	host := s
	if u, err := url.Parse("https://" + s); err == nil && u.Host == s {
		host = u.Hostname()
	}
	if h, err := protocol.NormalizeHost(host); err != nil || !strings.Contains(h, ".") || strings.HasSuffix(h, ".notary") {
		return s // not a name: a file that does not exist, for ReadBundle to say so
	}
	return "https://" + s + WellKnownBundlePath
}
