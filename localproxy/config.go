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
type Limits struct {
	MaxHeaderBytes   int           // request header size; default 64 KiB
	HeaderTimeout    time.Duration // to read a request header, and a CONNECT's first bytes; default 15 s
	HandshakeTimeout time.Duration // for one interception: upstream dial and handshake, verdict, client handshake; default 30 s
	IdleTimeout      time.Duration // a tunnel or keep-alive connection with no traffic either way is closed; default 2 min
	MaxConns         int           // client connections open at once; more wait to be accepted; default 512
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
		l.IdleTimeout = 2 * time.Minute
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
