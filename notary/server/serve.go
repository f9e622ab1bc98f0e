package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// ServeConfig sets up the HTTPS listener. Zero values take the defaults.
type ServeConfig struct {
	Handler     http.Handler    // required
	Certificate tls.Certificate // required unless GetCertificate is set
	// GetCertificate, when set, picks the certificate per handshake (a reloadable
	// identity: Handler.GetCertificate).
	GetCertificate    func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	MaxConns          int           // concurrent connections; default 1024
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 10s
	WriteTimeout      time.Duration // default 60s: must cover a probe
	IdleTimeout       time.Duration // default 60s
	MaxHeaderBytes    int           // default 8 KiB
	// MaxConnsPerClient is how many of the MaxConns one client (IPv4 address or IPv6
	// /64) may hold; its connections beyond that are closed at once. Default 64.
	MaxConnsPerClient int
	// SharedPeer reports the peers whose connections are outside the per-client share
	// and the pressure rules, counted against MaxConns only: trusted reverse proxies
	// (Handler.TrustedProxy), whose connections each carry many clients. Nil: none.
	SharedPeer func(netip.Addr) bool
	// PressureTimeout is how long a connection may go without sending a request while
	// 3/4 of MaxConns are open; past it, it is closed. Default 1s.
	PressureTimeout time.Duration
	// MinTLSVersion is the lowest TLS version accepted (default TLS 1.2; tls.VersionTLS10
	// serves the original 2011-era clients).
	MinTLSVersion   uint16
	ShutdownTimeout time.Duration // default 10s
	Logger          *slog.Logger  // default slog.Default()
}

// The timeouts Serve gives its http.Server where ServeConfig leaves them zero: what a
// server on the internet needs against clients that send or read slowly, or hold
// connections open.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 60 * time.Second // must cover a probe
	DefaultIdleTimeout       = 60 * time.Second
)

// Serve serves HTTPS on ln until ctx is done, then shuts down gracefully (in-flight
// requests get ShutdownTimeout) and returns nil. It closes ln.
func Serve(ctx context.Context, ln net.Listener, cfg ServeConfig) error {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&cfg.ReadTimeout, DefaultReadTimeout)
	def(&cfg.WriteTimeout, DefaultWriteTimeout)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.ShutdownTimeout, 10*time.Second)
	def(&cfg.PressureTimeout, time.Second)
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1024
	}
	if cfg.MaxConnsPerClient <= 0 {
		cfg.MaxConnsPerClient = 64
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 8 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	lim := newConnLimiter(ln, cfg.MaxConns, cfg.MaxConnsPerClient, cfg.PressureTimeout, cfg.Logger)
	lim.exempt = cfg.SharedPeer
	srv := &http.Server{
		Handler:           cfg.Handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ConnState:         lim.connState,
		// net/http's own messages name client addresses (TLS handshake errors): debug only.
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	if cfg.MinTLSVersion == 0 {
		cfg.MinTLSVersion = tls.VersionTLS12
	}
	tlsCfg := &tls.Config{MinVersion: cfg.MinTLSVersion}
	if cfg.GetCertificate != nil {
		tlsCfg.GetCertificate = cfg.GetCertificate
	} else {
		tlsCfg.Certificates = []tls.Certificate{cfg.Certificate}
	}
	tl := tls.NewListener(lim, tlsCfg)
	lctx, stopLim := context.WithCancel(ctx)
	limDone := make(chan struct{})
	go func() { // ends when Serve returns
		defer close(limDone)
		lim.run(lctx)
	}()
	defer func() { stopLim(); <-limDone }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tl) }()
	select {
	case err := <-errc:
		return fmt.Errorf("failed to serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("failed to serve: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("failed to shut down: %w", err)
	}
	return nil
}
