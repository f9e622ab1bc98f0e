package localproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// dialTLS connects to the site (or takes early's connection) and runs a TLS handshake
// that trusts nothing: the chain is only collected here, and judged by the Checker.
// sessions is the connection's scope of the upstream session cache: a resumed
// handshake carries no chain on the wire, and the chain Go hands back is that of the
// session's first handshake, which connectAndVerify has judged again (resume.go).
func (p *Proxy) dialTLS(ctx context.Context, early *predial, addr, sni string, alpn []string, sessions tls.ClientSessionCache) (*tls.Conn, error) {
	var raw net.Conn
	var err error
	if early != nil {
		raw, err = early.take(ctx)
	} else {
		raw, err = p.dialSite(ctx, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to reach %q: %w", addr, err)
	}
	raw = &notifyConn{Conn: raw} // a pool learns so when it is closed (pool.go)
	asked := false               // the site sent a CertificateRequest
	cfg := &tls.Config{
		// An interception has no client certificate to give: the app's stays with the
		// app. The request is noted and answered with none; the block page then
		// offers verify without reading (passthrough.go).
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			return &tls.Certificate{}, nil
		},
		ServerName:         sni,
		NextProtos:         alpn,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // the Checker decides; see Proxy.prepare
		ClientSessionCache: sessions,
	}
	if sni == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil && net.ParseIP(host) == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(raw, cfg)
	err = tc.HandshakeContext(ctx)
	if asked {
		// Even when the site lets the handshake finish (TLS 1.3, or a certificate it
		// only asks for), the app would be served as someone without its certificate.
		raw.Close()
		return nil, fmt.Errorf("failed to intercept %q: %w", addr, errClientCertAsked)
	}
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("failed TLS handshake with %q: %w", addr, err)
	}
	if len(tc.ConnectionState().PeerCertificates) == 0 {
		tc.Close()
		return nil, fmt.Errorf("failed TLS handshake with %q: no certificate", addr)
	}
	return tc, nil
}
