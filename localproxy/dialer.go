package localproxy

import (
	"context"
	"net"
	"net/url"
)

// ProxyDialer returns a dial function that reaches every address through the http://
// proxy at u with CONNECT, for the other parts of the app that must go out the same
// way as the proxy (the verifier's notary and site connections).
func ProxyDialer(u *url.URL) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		return dialViaProxy(ctx, d.DialContext, u, addr, Limits{}.withDefaults().MaxHeaderBytes)
	}
}
