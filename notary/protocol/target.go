package protocol

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// V1PathPrefix is the path prefix of v1 queries: /target/<host>+<port>.
const V1PathPrefix = "/target/"

// V2Path is the path of v2 queries (POST, JSON body).
const V2Path = "/v2/check"

// WellKnownBundlePath is where a notary serves its own .notary bundle.
const WellKnownBundlePath = "/.well-known/convergence.notary"

// NormalizeHost checks a target host and returns it in canonical form: lowercase ASCII,
// no trailing dot, IPv6 literals without brackets. Internationalised names must be
// given as A-labels (xn--...). A host already in canonical form is returned as given,
// without an allocation (a notary normalises the host of every query).
func NormalizeHost(h string) (string, error) {
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if s == "" {
		return "", fmt.Errorf("failed to parse host %q: empty: %w", h, ErrMalformed)
	}
	if ip, ok := HostAddr(s); ok {
		if ip.Zone() != "" {
			return "", fmt.Errorf("failed to parse host %q: zones are not allowed: %w", h, ErrMalformed)
		}
		var buf [64]byte // the longest IPv6 text is 45 bytes
		if string(ip.AppendTo(buf[:0])) == s {
			return s, nil
		}
		return ip.String(), nil
	}
	if len(s) > 253 {
		return "", fmt.Errorf("failed to parse host %q: longer than 253 characters: %w", h, ErrMalformed)
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("failed to parse host %q: bad label length: %w", h, ErrMalformed)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("failed to parse host %q: label starts or ends with '-': %w", h, ErrMalformed)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("failed to parse host %q: character %q not allowed: %w", h, string(c), ErrMalformed)
			}
		}
	}
	return s, nil
}

// HostAddr returns host's address when host is an IP literal (without brackets), as
// netip.ParseAddr reads it; ok is false for a name. A name is told without calling
// ParseAddr (whose error is an allocation): an IPv4 literal has only digits and dots,
// an IPv6 one a colon.
func HostAddr(host string) (ip netip.Addr, ok bool) {
	if strings.IndexByte(host, ':') < 0 && !digitsAndDots(host) {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(host)
	return ip, err == nil
}

func digitsAndDots(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// CheckPort reports whether p is a valid TCP port (1-65535).
func CheckPort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("failed to check port %d: want 1-65535: %w", p, ErrMalformed)
	}
	return nil
}

// V1Path returns the v1 query path for a target: /target/<host>+<port>.
func V1Path(host string, port int) string {
	return V1PathPrefix + host + "+" + strconv.Itoa(port)
}

// ParseV1Path splits a v1 query path /target/<host>+<port> and normalises the host.
// IPv6 literals are accepted with or without brackets (the separator is the last '+').
func ParseV1Path(path string) (host string, port int, err error) {
	rest, ok := strings.CutPrefix(path, V1PathPrefix)
	if !ok || rest == "" {
		return "", 0, fmt.Errorf("failed to parse target path %q: no target: %w", path, ErrMalformed)
	}
	i := strings.LastIndexByte(rest, '+')
	if i < 0 {
		return "", 0, fmt.Errorf("failed to parse target path %q: no '+<port>': %w", path, ErrMalformed)
	}
	port, err = strconv.Atoi(rest[i+1:])
	if err != nil {
		return "", 0, fmt.Errorf("failed to parse target path %q: bad port: %w", path, ErrMalformed)
	}
	if err := CheckPort(port); err != nil {
		return "", 0, fmt.Errorf("failed to parse target path %q: %w", path, err)
	}
	host, err = NormalizeHost(rest[:i])
	if err != nil {
		return "", 0, err
	}
	return host, port, nil
}
