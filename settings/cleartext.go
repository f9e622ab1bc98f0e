package settings

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// maxCleartextAllow bounds Settings.CleartextAllow: the proxy reads the list on every
// tunnel that is not TLS, and a list this long is a mistake, not a choice.
const maxCleartextAllow = 256

// CanonicalHostPort checks one entry of Settings.CleartextAllow, "host:port" (IPv6 in
// brackets), and returns it in canonical form: the host as protocol.NormalizeHost
// gives it (lowercase, without a trailing dot), the port a number in 1..65535.
func CanonicalHostPort(entry string) (string, error) {
	c, err := canonicalHostPort(entry)
	if err != nil {
		return "", fmt.Errorf("%w: cleartext tunnel %q: %w", ErrInvalidSettings, entry, err)
	}
	return c, nil
}

func canonicalHostPort(entry string) (string, error) {
	h, p, err := net.SplitHostPort(strings.TrimSpace(entry))
	if err != nil {
		return "", errors.New("want host:port, e.g. chat.example.org:5222 or [2001:db8::1]:5432")
	}
	port, err := strconv.Atoi(p)
	if err != nil || protocol.CheckPort(port) != nil {
		return "", fmt.Errorf("port %q is not a number in 1..65535", p)
	}
	host, err := protocol.NormalizeHost(h)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// NormalizeCleartextAllow returns the entries in canonical form (CanonicalHostPort),
// sorted and without duplicates or empty lines, or every bad entry's error, joined.
func NormalizeCleartextAllow(entries []string) ([]string, error) {
	out := make([]string, 0, len(entries))
	var errs []error
	for _, e := range entries {
		if strings.TrimSpace(e) == "" {
			continue
		}
		c, err := CanonicalHostPort(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// AllowsCleartext reports whether s lets the proxy open a tunnel that is not TLS (so
// not checked) to host:port. host must be in canonical form (protocol.NormalizeHost).
// It does no I/O.
func (s Settings) AllowsCleartext(host string, port int) bool {
	if len(s.CleartextAllow) == 0 {
		return false
	}
	want := net.JoinHostPort(host, strconv.Itoa(port))
	for _, e := range s.CleartextAllow {
		if e == want {
			return true
		}
		// Entries are stored canonical (SaveSettings); one written by another hand
		// is compared in canonical form too.
		if c, err := canonicalHostPort(e); err == nil && c == want {
			return true
		}
	}
	return false
}

// validateCleartextAllow reports the entries of CleartextAllow that are not host:port.
func validateCleartextAllow(entries []string) []error {
	var errs []error
	if len(entries) > maxCleartextAllow {
		errs = append(errs, fmt.Errorf("%w: %d cleartext tunnels allowed; at most %d", ErrInvalidSettings, len(entries), maxCleartextAllow))
	}
	for _, e := range entries {
		if _, err := CanonicalHostPort(e); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
