package verifier

import (
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// Exempt reports whether t is never checked (loopback unless the exempt-loopback
// setting is off, private addresses when the exempt-private setting is on) or is let
// through unchecked for now (Allow), so the proxy can tunnel it untouched. Set t.Addr
// to the address
// the connection goes to when it is known: it then decides alone (see exempt). It
// reads the settings in memory and does no I/O. It satisfies localproxy.Exempter.
func (v *Verifier) Exempt(t Target) bool {
	host, err := protocol.NormalizeHost(t.Host)
	if err != nil {
		return false
	}
	t.Host = host
	if v.allowed.allows(t, v.now()) {
		return true
	}
	v.mu.Lock()
	s := v.snap
	v.mu.Unlock()
	if s == nil {
		_, ok := exempt(t, exemptionsOf(settings.Defaults()))
		return ok
	}
	_, ok := exempt(t, exemptionsOf(s.settings))
	return ok
}

// CleartextAllowed reports whether the user allows a tunnel that is not TLS (so not
// checked) to host:port (settings.Settings.CleartextAllow). It reads the settings in
// memory and does no I/O; the proxy calls it for every such tunnel.
func (v *Verifier) CleartextAllowed(host string, port int) bool {
	h, err := protocol.NormalizeHost(host)
	if err != nil {
		return false
	}
	v.mu.Lock()
	s := v.snap
	v.mu.Unlock()
	return s != nil && s.settings.AllowsCleartext(h, port)
}
