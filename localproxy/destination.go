package localproxy

import (
	"errors"
	"net"
	"net/netip"
	"strings"
)

// Exemptions are decided on the destination a connection actually goes to, never on
// the name a client chose to send in TLS: a client may CONNECT to one host and name
// "localhost" or "10.0.0.1" in its ClientHello (issue 12, door 6).

// errNameElsewhere words the proxy's rejection when the TLS server name says this
// machine or an address, for a connection that goes to another host whose address
// the proxy cannot know (through an upstream proxy).
var errNameElsewhere = errors.New("the TLS server name does not match where the connection goes")

// dialledAddr returns the address conn, made to connectHost, went to: the socket's
// remote address when the proxy reaches sites itself. Through an upstream proxy that
// resolves names on its own, only the CONNECT host itself can say: an IP literal, or
// a localhost name (dialSite sends those to loopback); otherwise the zero Addr.
func (p *Proxy) dialledAddr(conn net.Conn, connectHost string) netip.Addr {
	if p.cfg.UpstreamProxy == nil {
		if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
			return ap.Addr().Unmap()
		}
	}
	if a, err := netip.ParseAddr(connectHost); err == nil {
		return a.Unmap()
	}
	if localhostAddrs(net.JoinHostPort(connectHost, "0")) != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	return netip.Addr{}
}

// namedByItself reports whether a (normalised) name is one that exemptions judge by
// the name alone when no address is known: a localhost name or an IP literal.
func namedByItself(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}
