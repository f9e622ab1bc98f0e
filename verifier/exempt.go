package verifier

import (
	"net/netip"
	"strings"
)

// exempt reports whether t is a destination that is never checked, and why: loopback
// always (notaries cannot see it), private addresses when exemptPrivate is on
// (intranet sites outside notaries' view). Names are judged by t.Addr when the caller
// knows the address it connected to, and "localhost" names by themselves.
func exempt(t Target, exemptPrivate bool) (string, bool) {
	h := strings.ToLower(t.Host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "loopback destinations are not checked", true
	}
	addrs := make([]netip.Addr, 0, 2)
	if a, err := netip.ParseAddr(h); err == nil {
		addrs = append(addrs, a)
	}
	if t.Addr.IsValid() {
		addrs = append(addrs, t.Addr)
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.IsLoopback() {
			return "loopback destinations are not checked", true
		}
		if exemptPrivate && (a.IsPrivate() || a.IsLinkLocalUnicast()) {
			return "private addresses are not checked (setting)", true
		}
	}
	return "", false
}
