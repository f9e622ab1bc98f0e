package verifier

// Exempt reports whether t is never checked (loopback always, private addresses when
// the setting is on), so the proxy can tunnel it untouched. It reads the settings in
// memory and does no I/O. It satisfies localproxy.Exempter.
func (v *Verifier) Exempt(t Target) bool {
	v.mu.Lock()
	s := v.snap
	v.mu.Unlock()
	_, ok := exempt(t, s != nil && s.settings.ExemptPrivate)
	return ok
}
