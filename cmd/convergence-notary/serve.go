package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/convergence-ng/convergence/notary/check"
	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/server"
)

// serve wires the notary and runs it until ctx ends (SIGTERM, SIGINT).
func serve(ctx context.Context, c serveConfig, stderr io.Writer) error {
	// Log lines go out in batches (a line per request was a write per answer).
	lw := server.NewLogWriter(stderr)
	fctx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() { // ends when serve returns
		defer close(flushed)
		lw.Run(fctx, logFlushEvery)
	}()
	defer func() { stopFlush(); <-flushed }()
	log := newLogger(c, lw)
	// SIGHUP reloads (reload.go); caught from the start, so one sent early does not end
	// the process, as its default action would.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	id, err := loadIdentity(c, true)
	if err != nil {
		return err
	}
	st, storeKind, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	pr := probe.New(probe.Config{
		Policy:           policyOf(c),
		Resolver:         dnsResolver(c.resolver),
		ConnectTimeout:   c.connectTimeout,
		HandshakeTimeout: c.handshake,
		Rounds:           c.rounds,
	})
	var dane *check.DANE
	if c.daneResolver != "" {
		dane = check.NewDANE(c.daneResolver, c.connectTimeout)
	}
	// Both stores hand out probe leases: a fleet on PostgreSQL, or processes sharing one
	// SQLite file on a host, probe a target once between them.
	n := server.New(server.Config{Store: st, Leases: st, LeaseFor: c.probeLease, Prober: pr, Window: c.window, Checks: c.checks,
		Deciding: c.decide, DANE: dane, MaxProbes: c.maxProbes, Logger: log})
	bundleJSON, err := bundleOf(c, id)
	if err != nil {
		return err
	}
	if len(c.hosts) == 0 {
		log.Warn("no --host given: the bundle is not served at " + protocol.WellKnownBundlePath)
	}
	h, err := server.NewHandler(server.HandlerConfig{Notary: n, Identity: id, Bundle: bundleJSON, Name: c.name,
		RatePerSecond: c.rate, Burst: c.burst, MaxClients: c.maxClients, Logger: log, LogClientIPs: c.logClientIPs,
		TrustedProxies: c.trustedProxies, MetricsFrom: c.metricsFrom})
	if err != nil {
		return err
	}
	minTLS := uint16(tls.VersionTLS12)
	if c.tlsMin == "1.0" {
		minTLS = tls.VersionTLS10
	}
	var listeners []net.Listener
	for _, addr := range c.listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return usage("pick a free address, or run with the capability to bind low ports (see docs/convergence-notary.service)", "failed to listen on %q: %v", addr, err)
		}
		listeners = append(listeners, ln)
	}
	log.Info("notary started", "key_type", id.KeyType, "cert_sha256", protocol.SHA256Fingerprint(id.Cert.Raw),
		"freshness", c.window.String(), "checks", c.checks, "decide", c.decide, "store", storeKind)
	if bundleJSON != nil {
		// The bundle is served over the notary's own certificate, which no CA signed: a
		// client fetches it from here only given that certificate's fingerprint.
		log.Info("to add this notary to a client", "command", fmt.Sprintf("convergence notary add https://%s%s --fingerprint %s",
			net.JoinHostPort(c.hosts[0], strconv.Itoa(c.bundlePort())), protocol.WellKnownBundlePath, protocol.SHA256Fingerprint(id.Cert.Raw)))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { reloadOnHUP(gctx, hup, c, h, pr, log); return nil })
	for _, ln := range listeners {
		log.Info("listening", "addr", ln.Addr().String())
		g.Go(func() error {
			return server.Serve(gctx, ln, server.ServeConfig{Handler: h, GetCertificate: h.GetCertificate, SharedPeer: h.TrustedProxy, MaxConns: c.maxConns,
				MaxConnsPerClient: c.maxConnsClient, ReadTimeout: c.readTimeout, WriteTimeout: c.writeTimeout, IdleTimeout: c.idleTimeout,
				MaxHeaderBytes: c.maxHeader, MinTLSVersion: minTLS, Logger: log})
		})
	}
	err = g.Wait()
	log.Info("notary stopped")
	return err
}

// logFlushEvery is how long a log line may wait in the buffer.
const logFlushEvery = 100 * time.Millisecond

func newLogger(c serveConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// dnsResolver returns a resolver that asks server only, or nil for the system's.
func dnsResolver(server string) probe.Resolver {
	if server == "" {
		return nil
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

// bundlePort is the HTTPS port the served bundle names: --public-port, else the port
// of the first --listen address.
func (c *serveConfig) bundlePort() int {
	if c.publicPort > 0 {
		return c.publicPort
	}
	return portOf(c.listen[0])
}

// portOf returns the port of a listen address, 443 if it has none.
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 443
	}
	var n int
	if _, err := fmt.Sscan(p, &n); err != nil || n == 0 {
		return 443
	}
	return n
}
