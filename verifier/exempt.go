package verifier

import (
	"net/netip"
	"strings"

	"github.com/convergence-ng/convergence/settings"
)

// exemptions are the settings that say which destinations are never checked.
type exemptions struct {
	loopback bool // settings.Settings.ExemptLoopback: this machine (notaries cannot see it)
	private  bool // settings.Settings.ExemptPrivate: intranet sites outside notaries' view
}

// exemptionsOf reads the exemptions from the settings.
func exemptionsOf(s settings.Settings) exemptions {
	return exemptions{loopback: s.ExemptLoopback, private: s.ExemptPrivate}
}

// exempt reports whether t is a destination that is never checked, and why: loopback
// when ex.loopback is on (the default), private addresses when ex.private is on.
// t.Host must be normalised.
//
// The decision is about where the connection goes, not what it is called: when the
// caller knows the address it connected to (t.Addr), that address alone decides, so a
// certificate name that says "localhost" or "10.0.0.1" (the SNI) on a connection to
// another host is checked like any other. Only when no address is known do the names
// decide: "localhost" and names under it, and IP literals.
func exempt(t Target, ex exemptions) (string, bool) {
	var a netip.Addr
	switch {
	case t.Addr.IsValid():
		a = t.Addr
	case t.Host == "localhost" || strings.HasSuffix(t.Host, ".localhost"):
		if !ex.loopback {
			return "", false
		}
		return "loopback destinations are not checked", true
	default:
		ip, err := netip.ParseAddr(t.Host)
		if err != nil {
			return "", false
		}
		a = ip
	}
	a = a.Unmap()
	if a.IsLoopback() && ex.loopback {
		return "loopback destinations are not checked", true
	}
	if ex.private && (a.IsPrivate() || a.IsLinkLocalUnicast()) {
		return "private addresses are not checked (setting)", true
	}
	return "", false
}
