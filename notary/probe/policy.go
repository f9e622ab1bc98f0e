// Package probe connects to TLS sites the way a notary must: SNI always, IPv4 and IPv6,
// deadlines on connect and handshake, and only to addresses and ports the policy allows.
package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// ErrRefused means the policy forbids probing the target's address or port.
var ErrRefused = errors.New("target refused by policy")

// DefaultPorts are the usual TLS ports a notary probes without --allow-port: HTTPS,
// SMTPS/submissions, NNTPS, LDAPS, DNS over TLS, FTPS, telnets, IMAPS, IRCS, POP3S,
// SIP-TLS and the common alternative HTTPS ports.
var DefaultPorts = []int{443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 5061, 8443}

// blocked lists the address ranges a public notary must never probe, with the reason.
// IPv4-mapped IPv6 addresses are unmapped before the check.
var blocked = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (this network)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (and broadcast)"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 (reaches IPv4 behind a translator)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments (incl. Teredo)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (embeds an IPv4 address)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (ULA)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// Policy says which addresses and ports may be probed. The zero value refuses every
// special-purpose address and allows DefaultPorts. A Policy is read-only after setup
// and safe for concurrent use.
type Policy struct {
	// Allow lists ranges probed even though they are special-purpose (an intranet
	// notary, tests on loopback). It takes precedence over the blocked ranges.
	Allow []netip.Prefix
	// Ports adds ports to DefaultPorts.
	Ports []int
}

// CheckAddr returns nil if a may be probed, else an error wrapping ErrRefused that names
// the range.
func (p *Policy) CheckAddr(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return fmt.Errorf("failed to check address: invalid: %w", ErrRefused)
	}
	for _, pre := range p.Allow {
		if pre.Contains(a) {
			return nil
		}
	}
	for _, b := range blocked {
		if b.prefix.Contains(a) {
			return fmt.Errorf("address %s is %s: %w", a, b.why, ErrRefused)
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return fmt.Errorf("address %s is special-purpose: %w", a, ErrRefused)
	}
	return nil
}

// CheckPort returns nil if port may be probed, else an error wrapping ErrRefused.
func (p *Policy) CheckPort(port int) error {
	if slices.Contains(DefaultPorts, port) || slices.Contains(p.Ports, port) {
		return nil
	}
	return fmt.Errorf("port %d is not an allowed TLS port (the operator may add it with --allow-port): %w", port, ErrRefused)
}
