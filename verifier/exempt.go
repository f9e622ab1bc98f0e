package verifier

import (
	"net/netip"
	"strings"
)

// exempt reports whether t is a destination that is never checked, and why: loopback
// always (notaries cannot see it), private addresses when exemptPrivate is on
// (intranet sites outside notaries' view). t.Host must be normalised.
//
// The decision is about where the connection goes, not what it is called: when the
// caller knows the address it connected to (t.Addr), that address alone decides, so a
// certificate name that says "localhost" or "10.0.0.1" (the SNI) on a connection to
// another host is checked like any other. Only when no address is known do the names
// decide: "localhost" and names under it, and IP literals.
func exempt(t Target, exemptPrivate bool) (string, bool) {
	var a netip.Addr
	switch {
	case t.Addr.IsValid():
		a = t.Addr
	case t.Host == "localhost" || strings.HasSuffix(t.Host, ".localhost"):
		return "loopback destinations are not checked", true
	default:
		ip, err := netip.ParseAddr(t.Host)
		if err != nil {
			return "", false
		}
		a = ip
	}
	a = a.Unmap()
	if a.IsLoopback() {
		return "loopback destinations are not checked", true
	}
	if exemptPrivate && (a.IsPrivate() || a.IsLinkLocalUnicast()) {
		return "private addresses are not checked (setting)", true
	}
	return "", false
}
