package localproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/verifier"
)

// recordTypeHandshake is the first byte of a TLS record that carries a ClientHello.
const recordTypeHandshake = 0x16

// serveConnect handles one CONNECT: a plain tunnel when paused or exempt, a refusal
// or (when the user allows it) a cleartext tunnel when the stream is not TLS (see
// cleartext.go), otherwise an interception that finishes the client's handshake only
// after a verdict. The target's name is normalised once here (lowercase, no trailing
// dot), and the site is dialled by that name.
func (p *Proxy) serveConnect(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	target, err := parseTarget(r.Host)
	if err != nil {
		p.log.Debug("bad CONNECT target", "target", r.Host, "err", err)
		http.Error(w, "bad CONNECT target", http.StatusBadRequest)
		return
	}
	if isCheckHost(target.Host) { // answered here, never dialled (checkpage.go)
		p.serveCheckConnect(ctx, w)
		return
	}
	// Before any dial, only the name is known: the Exempter exempts by name only what is
	// dialled at that very address (an IP literal, or a localhost name, which dial
	// sends to loopback). Names that resolve to an exempt address are judged in
	// prepare, on the address dialled.
	passThrough := p.paused() || (p.cfg.Exempter != nil && p.cfg.Exempter.Exempt(target))
	var upstream net.Conn
	if passThrough {
		// Dial before answering so the client gets a clean 502 when the site is down.
		dctx, cancel := context.WithTimeout(ctx, p.limits.HandshakeTimeout)
		upstream, err = p.dialSite(dctx, target.String())
		cancel()
		if err != nil {
			p.log.Info("failed to reach site", "target", target.String(), "err", err)
			http.Error(w, "failed to reach "+target.String(), http.StatusBadGateway)
			return
		}
	}
	raw, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		closeIf(upstream)
		p.log.Warn("failed to hijack CONNECT", "err", err)
		return
	}
	client := &bufferedConn{Conn: raw, r: brw.Reader}
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Closing both ends is how Serve's cancellation reaches a connection in any state.
	stop := context.AfterFunc(connCtx, func() { client.Close(); closeIf(upstream) })
	defer stop()
	defer client.Close()

	client.SetDeadline(time.Now().Add(p.limits.HeaderTimeout))
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		closeIf(upstream)
		return
	}
	if passThrough {
		client.SetDeadline(time.Time{})
		p.tunnel(client, upstream)
		return
	}
	if p.passthrough(target) {
		p.servePassthrough(connCtx, client, target)
		return
	}
	allowed := p.cleartextAllowed(target)
	// The site is dialled while the client's handshake goes on (predial): at once when
	// a cleartext stream may go there anyway, else at the first byte of a TLS
	// handshake, since a stream that is refused must reach no one.
	var early *predial
	if allowed {
		early = p.startDial(connCtx, target.String())
		defer early.discard()
	}
	first, silent, err := p.firstByte(client, allowed)
	if err != nil {
		// Nothing was sent, so nothing went anywhere: no verdict. A client of a protocol
		// where the server speaks first (SMTP, IMAP) ends here unless allowed.
		p.log.Info("no data after CONNECT; closed (a protocol where the server speaks first needs its host:port allowed for cleartext)",
			"target", target.String(), "err", err)
		return
	}
	if silent || first != recordTypeHandshake {
		p.serveCleartext(connCtx, client, target, allowed, early)
		return
	}
	if early == nil && !p.pool.has(target.String()) {
		early = p.startDial(connCtx, target.String())
		defer early.discard()
	}
	p.intercept(connCtx, client, target, target.String(), early)
}

// interception is the state of one intercepted connection, filled in by the client
// handshake's GetConfigForClient.
type interception struct {
	upstream *tls.Conn
	verdict  verifier.Verdict
	failure  error           // set when no verdict could be reached (site down, Checker error)
	early    *predial        // the TCP connection to the site, dialled at CONNECT
	entry    *poolEntry      // the pool the connection's requests ride, if any (pool.go)
	connect  verifier.Target // the CONNECT host:port: what a decision for the site covers
}

// intercept runs the client's handshake. Inside it, once the ClientHello is known, it
// connects upstream with the same SNI and ALPN offer, asks the Checker about the chain
// and only then lets the handshake finish, with a leaf for the name and the upstream's
// protocol. A rejected or failed site gets the block page instead.
func (p *Proxy) intercept(ctx context.Context, client *bufferedConn, target verifier.Target, connectAddr string, early *predial) {
	ca := p.ca.Load()
	st := &interception{early: early, connect: target}
	defer func() { closeTLS(st.upstream) }()
	cfg := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CurvePreferences: loopbackCurves,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			return p.prepare(hello, ca, st, target, connectAddr)
		},
	}
	p.tickets.applyTo(cfg) // resumption toward the client (resume.go)
	hctx, cancel := context.WithTimeout(ctx, p.limits.HandshakeTimeout)
	client.SetDeadline(time.Now().Add(p.limits.HandshakeTimeout))
	sn := &alertSniffer{Conn: client} // to notice a client that does not trust the local CA (alerts.go)
	watched := &watchedConn{Conn: sn} // the idle watch of a connection the inner server serves (terminate.go)
	tc := tls.Server(watched, cfg)
	err := tc.HandshakeContext(hctx)
	cancel()
	sn.done.Store(true)
	if err != nil {
		p.log.Info("failed client handshake", "target", connectAddr, "err", err)
		p.noteHandshakeFailure(target.Host, err, sn)
		return
	}
	if st.failure != nil || !st.verdict.Allowed() {
		closeTLS(st.upstream)
		st.upstream = nil
		p.serveBlock(tc, st)
		return
	}
	client.SetDeadline(time.Time{})
	if st.entry != nil {
		if inner, _ := ctx.Value(innerKey{}).(*innerServer); inner != nil {
			stop := watched.watch(p.limits.IdleTimeout)
			<-inner.serve(tc, st.entry) // the inner server ends with Serve, and closes tc then
			stop()
		}
		return
	}
	up := st.upstream
	st.upstream = nil // the tunnel owns it now
	p.tunnel(tc, up)
}

// prepare does the upstream half of an interception and returns the config that
// finishes the client's handshake.
func (p *Proxy) prepare(hello *tls.ClientHelloInfo, ca *CA, st *interception, target verifier.Target, connectAddr string) (*tls.Config, error) {
	name := hello.ServerName
	if name == "" {
		name = target.Host // IP targets and clients that send no SNI
	}
	name, err := normalizeServerName(name)
	if err != nil {
		return nil, err
	}
	target.Host = name
	leaf, err := ca.Leaf(name)
	if err != nil {
		return nil, err
	}
	offer := alpnOffer(hello.SupportedProtos)
	if e, proto, v := p.pool.find(hello.Context(), connectAddr, name, offer); e != nil {
		// A verified connection for this very host, port, SNI and protocol, whose
		// verdict still stands: no new one is made (pool.go).
		p.reportVerdict(v)
		st.entry, st.verdict = e, v
		return &tls.Config{MinVersion: tls.VersionTLS12, CurvePreferences: loopbackCurves,
			Certificates: []tls.Certificate{*leaf}, NextProtos: []string{proto}}, nil
	}
	var chosen string
	start := time.Now()
	upstream, verdict, err := p.connectAndVerify(hello.Context(), st.early, target, connectAddr, name, offer, nil)
	if err == nil && verdict.Allowed() && time.Since(start) > redialAfter {
		// The notaries took long. Sites drop a connection that stays silent (Go's HTTP/2
		// server after 10 s), so connect again, and let the client through only to the
		// certificate that was judged: the same one needs no new verdict, another one
		// is asked about like any other.
		closeTLS(upstream)
		upstream, verdict, err = p.connectAndVerify(hello.Context(), nil, target, connectAddr, name, offer, &verdict)
	}
	if err != nil {
		st.failure = err
		if verdict.FingerprintSHA256 != "" {
			st.verdict = verdict
			p.reportVerdict(verdict)
		}
	} else {
		st.upstream, st.verdict = upstream, verdict
		chosen = upstream.ConnectionState().NegotiatedProtocol
		if st.entry = p.pool.add(hello.Context(), connectAddr, name, upstream, verdict); st.entry != nil {
			st.upstream = nil // the pool's first connection now
		}
	}
	if st.failure != nil || !st.verdict.Allowed() {
		// Nothing more goes upstream: close it before the client can send a request.
		closeTLS(st.upstream)
		st.upstream = nil
		chosen = ""
		if slices.Contains(hello.SupportedProtos, "http/1.1") {
			chosen = "http/1.1" // the block page speaks HTTP/1.1 only
		}
	}
	out := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CurvePreferences: loopbackCurves,
		Certificates:     []tls.Certificate{*leaf},
	}
	if chosen != "" {
		out.NextProtos = []string{chosen}
	}
	return out, nil
}

// redialAfter is how long a verdict may take before the connection to the site is
// made again: below the 10 s in which Go's HTTP/2 server drops a silent client.
var redialAfter = 5 * time.Second // a variable only so tests can shorten it

// connectAndVerify connects to the site and asks the Checker about the chain it
// presents (on early's connection when early is not nil), for target (the name the client asked for in TLS) at the address dialled
// (Target.Addr, so that exemptions go by where the connection went). When judged is a
// verdict already made for this connection and the site presents the same
// certificate again at the same address, that verdict stands and none is asked. A
// Checker error is returned with a rejecting verdict that says so; a name that claims
// this machine for a connection going elsewhere gets a rejecting verdict.
func (p *Proxy) connectAndVerify(ctx context.Context, early *predial, target verifier.Target, addr, sni string, offer []string, judged *verifier.Verdict) (*tls.Conn, verifier.Verdict, error) {
	sessions := p.sessions.scope(addr, sni)
	upstream, err := p.dialTLS(ctx, early, addr, sni, offer, sessions)
	if err != nil {
		return nil, verifier.Verdict{}, err
	}
	// A session is kept for resumption only when this certificate is trusted now
	// (resume.go); a resumed one's chain is its first handshake's, judged again here.
	var verdict verifier.Verdict
	defer func() {
		if verdict.Allowed() {
			sessions.keep()
		} else {
			sessions.forget()
		}
	}()
	connectHost, _, _ := net.SplitHostPort(addr)
	target.Addr = p.dialledAddr(upstream, connectHost)
	chain := upstream.ConnectionState().PeerCertificates
	fp := verifier.FingerprintSHA256(chain[0])
	if judged != nil && fp == judged.FingerprintSHA256 && target.Addr == judged.Target.Addr {
		verdict = *judged
		return upstream, verdict, nil
	}
	if !target.Addr.IsValid() && target.Host != connectHost && namedByItself(target.Host) {
		// The proxy's own rejection; prepare closes the upstream before any request.
		v := verifier.Verdict{Target: target, FingerprintSHA256: fp, Outcome: verifier.OutcomeRejected, Time: time.Now(),
			Source: verifier.SourceProxy, Code: verifier.ReasonRefusedTunnel, Reason: fmt.Sprintf("%v: the name %q in TLS means this machine or an address, but the connection goes to %q",
				errNameElsewhere, target.Host, connectHost)}
		p.reportVerdict(v)
		verdict = v
		return upstream, v, nil
	}
	verdict, verr := p.cfg.Checker.Verify(ctx, target, chain)
	if verr != nil {
		err := fmt.Errorf("failed to verify certificate: %w", verr)
		closeTLS(upstream)
		return nil, verifier.Verdict{Target: target, FingerprintSHA256: fp, Outcome: verifier.OutcomeRejected,
			Source: verifier.SourceProxy, Code: verifier.ReasonCheckFailed, Reason: err.Error(), Time: time.Now()}, err
	}
	p.reportVerdict(verdict)
	return upstream, verdict, nil
}

// reportVerdict logs v and hands it to OnVerdict. When OnVerdict is set, whoever
// receives the verdicts reports them (the app logs each one it publishes as an event),
// so the proxy's own line is Debug: a cache hit is not logged twice (issue 17 item 5).
func (p *Proxy) reportVerdict(v verifier.Verdict) {
	level := slog.LevelDebug
	if p.cfg.OnVerdict == nil {
		level = slogLevelFor(v)
	}
	p.log.Log(context.Background(), level, "verdict", "target", v.Target.String(),
		"outcome", v.Outcome.String(), "source", string(v.Source), "reason", v.Reason)
	if p.cfg.OnVerdict != nil {
		p.cfg.OnVerdict(v)
	}
}

// alpnOffer keeps the protocols the proxy can relay, in the client's order.
func alpnOffer(client []string) []string {
	var out []string
	for _, proto := range client {
		if proto == "h2" || proto == "http/1.1" {
			out = append(out, proto)
		}
	}
	return out
}

// parseTarget turns a CONNECT authority into a Target, its host normalised as every
// name is (protocol.NormalizeHost: lowercase, no trailing dot, no brackets).
func parseTarget(authority string) (verifier.Target, error) {
	host, portStr, err := net.SplitHostPort(authority)
	if err != nil {
		return verifier.Target{}, fmt.Errorf("failed to parse CONNECT target %q: %w", authority, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return verifier.Target{}, fmt.Errorf("failed to parse CONNECT port %q", portStr)
	}
	if host == "" {
		return verifier.Target{}, errors.New("failed to parse CONNECT target: empty host")
	}
	host, err = protocol.NormalizeHost(host)
	if err != nil {
		return verifier.Target{}, fmt.Errorf("failed to parse CONNECT target %q: %w", authority, err)
	}
	return verifier.Target{Host: host, Port: port}, nil
}

// bufferedConn is a hijacked client connection whose first bytes may already sit in the
// HTTP server's reader; reads drain that reader first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the underlying TCP connection.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func closeTLS(c *tls.Conn) {
	if c != nil {
		c.Close()
	}
}

func closeIf(c net.Conn) {
	if c != nil {
		c.Close()
	}
}
