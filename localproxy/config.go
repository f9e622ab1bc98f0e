package localproxy

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// DefaultAddr is where the proxy listens when Config.Addr is empty.
const DefaultAddr = "127.0.0.1:8118"

// ErrNotLoopback is returned when the proxy is asked to listen anywhere but loopback.
var ErrNotLoopback = errors.New("the proxy listens on loopback only")

// Checker decides whether a certificate chain may be trusted for a target. The proxy
// calls it once per intercepted connection, before the client's handshake is finished.
// Implementations must be safe for concurrent use and should honour ctx.
type Checker interface {
	Verify(ctx context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error)
}

// Exempter says which destinations are tunnelled untouched, without interception and
// without asking the Checker. It must be cheap (no I/O) and safe for concurrent use.
type Exempter interface {
	Exempt(t verifier.Target) bool
}

// Limits bound what one client can cost the proxy. Zero fields take the defaults.
//
// Only what protects the proxy is bounded tightly: the slots (MaxConns), header sizes,
// and the time a connection may take before it carries anything (a request header, a
// CONNECT's first bytes, an interception's handshakes). An established stream (a
// tunnel, a WebSocket, a long-poll, a response that is slow to start) is never cut
// for being quiet before IdleTimeout, whose default is an hour: a browser keeps a
// WebSocket or a long-poll open as long as the page lives, and a peer that is gone is
// found by TCP keep-alive (keepAlive), not by a timer. Issue 17 item 3.
type Limits struct {
	MaxHeaderBytes   int           // request header size; default 64 KiB
	HeaderTimeout    time.Duration // to read a request header, and a CONNECT's first bytes; default 15 s
	HandshakeTimeout time.Duration // for one interception: upstream dial and handshake, verdict, client handshake; default 30 s
	// IdleTimeout closes an established stream when no byte moved either way for that
	// long, or when a write has been stalled that long (a peer that stops reading
	// cannot pin a slot): tunnels, keep-alive connections between requests, and a
	// plain http:// request waiting for its response to start. Default 1 h; the
	// default of an established stream's timeout is never under 10 min.
	IdleTimeout time.Duration
	MaxConns    int // client connections open at once; more wait to be accepted; default 512
}

// DefaultIdleTimeout is Limits.IdleTimeout's default.
const DefaultIdleTimeout = time.Hour

// keepAlive finds peers that are gone (a laptop that slept, a site's box that died,
// a NAT that forgot the flow) on every connection the proxy accepts or dials: the
// first probe after 30 s of silence, then every 15 s, the connection closed after 4
// unanswered, so a dead peer frees its slot within about 90 s while a live one may
// stay quiet for as long as IdleTimeout.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 15 * time.Second, Count: 4}

// setKeepAlive turns keepAlive on for c when it is TCP (a custom dialer may return
// something else, left as it is).
func setKeepAlive(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetKeepAliveConfig(keepAlive)
	}
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = 15 * time.Second
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = 30 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxConns <= 0 {
		l.MaxConns = 512
	}
	return l
}

// Config is what New needs to build a Proxy.
type Config struct {
	// Checker decides about every intercepted certificate. Required.
	Checker Checker
	// CA mints the leaves shown to clients. Required; Proxy.SetCA replaces it.
	CA *CA
	// Addr is the loopback host:port ListenAndServe binds; empty means DefaultAddr.
	// Any address that is not loopback is refused with ErrNotLoopback.
	Addr string
	// Exempter, when set, names destinations tunnelled without interception.
	Exempter Exempter
	// Paused, when set and returning true, makes every CONNECT a plain tunnel.
	Paused func() bool
	// CleartextAllowed, when set, says whether a CONNECT whose stream is not TLS may
	// be tunnelled, unchecked, to host (normalised) and port; such a stream to any
	// other destination is refused. Either way the proxy reports a verdict with
	// Source verifier.SourceCleartext through OnVerdict. It must be cheap (no I/O)
	// and safe for concurrent use.
	CleartextAllowed func(host string, port int) bool
	// Passthrough, when set and true for host (normalised) and port, has the proxy
	// verify without reading: it checks the site's certificate with a handshake of
	// its own, then relays the client's TLS untouched (passthrough.go). The user's
	// decision, for that exact host:port. It must be cheap (no I/O) and safe for
	// concurrent use.
	Passthrough func(host string, port int) bool
	// UpstreamProxy, when set, is an http:// proxy through which every site is reached
	// (CONNECT for tunnels and intercepted HTTPS, absolute-form requests for plain HTTP).
	UpstreamProxy *url.URL
	// DialContext reaches sites (or UpstreamProxy); nil uses a net.Dialer. Setting it
	// lets an embedding program choose its resolver.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Limits bound per-connection cost; zero fields take defaults.
	Limits Limits
	// Logger receives one record per problem and per verdict; nil discards.
	Logger *slog.Logger
	// OnVerdict, when set, is called with every verdict the proxy acts on, including
	// the ones it makes itself: rejections when the Checker fails, and every tunnel
	// that is not TLS (Source verifier.SourceCleartext). It runs on the connection's
	// goroutine and must return quickly.
	OnVerdict func(verifier.Verdict)
	// Pages are the hooks of the check page (CheckHost) and of the block page's ways
	// out; any may be nil.
	Pages Pages
}

// checkLoopbackAddr refuses any listen address that is not a loopback IP or "localhost".
func checkLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("failed to parse listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("failed to use listen address %q (use 127.0.0.1 or [::1]): %w", addr, ErrNotLoopback)
	}
	return nil
}

// checkLoopbackListener refuses a listener whose address is not loopback.
func checkLoopbackListener(ln net.Listener) error {
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("failed to use listener on %q: not TCP: %w", ln.Addr().String(), ErrNotLoopback)
	}
	if !tcp.IP.IsLoopback() {
		return fmt.Errorf("failed to use listener on %q (use 127.0.0.1 or [::1]): %w", ln.Addr().String(), ErrNotLoopback)
	}
	return nil
}
