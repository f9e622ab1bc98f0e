package localproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/verifier"
)

// Reusing verified connections to sites (issue 17 item 1). An intercepted HTTP
// connection (the client offered h2 or http/1.1) is served by the proxy itself
// (terminate.go), and its requests ride a pool of connections to the site, one pool per
// (host, port, SNI, ALPN): the host and port the client asked for in CONNECT, the name
// it gave in TLS, the protocol the site chose. Every connection in a pool was dialled to
// that host and port with that SNI, and its certificate judged by the Checker for that
// name and trusted. A pool serves only client connections with the same four values,
// so it never serves a name its certificates and verdicts do not cover.
//
// Every new client connection and every request first asks the Checker's Recheck
// (memory only, no event) whether each certificate of the pool is still trusted for
// the name, and so does a sweep of every pool each second (sweepEvery), so that no
// request is needed for a change to be seen. When one is not (a pin removed, a
// notary revoked, the cache cleared, a rejection), the pool is retired: every
// connection in it, idle or busy, is closed, a request is refused with the verdict
// headers, and the client's connection is closed, so that the next one is judged
// afresh. A request on a pooled connection for another Host than the name judged is
// refused (421). A Checker without Recheck gets no pools: every connection is its own
// tunnel, as before.

// Rechecker is what a Checker may offer besides Verify, for pooled connections:
// Recheck reports, from memory, without asking a notary and without reporting an
// event, whether chain is still trusted for t (a pin, an exemption, a cached verdict
// that still meets the rule). False means only Verify could tell. It must be cheap
// (microseconds) and safe for concurrent use.
type Rechecker interface {
	Recheck(ctx context.Context, t verifier.Target, chain []*x509.Certificate) bool
}

// errPoolRetired means a pool's verdict no longer stands: its connections are closed.
var errPoolRetired = errors.New("the site's certificate is no longer trusted")

// judged is a chain a pool's connection presented and the target it was judged for
// (its Addr is where that connection went: exemptions go by it).
type judged struct {
	target verifier.Target
	chain  []*x509.Certificate
}

// poolKey names a pool: the CONNECT host:port (normalised), the SNI, the protocol.
type poolKey struct{ addr, sni, proto string }

// upstreamPool holds the pools of one Proxy. Safe for concurrent use.
type upstreamPool struct {
	p         *Proxy
	rechecker Rechecker // nil: no pooling

	mu      sync.Mutex // protects entries and addrs
	entries map[poolKey]*poolEntry
	addrs   map[string]int // how many entries each CONNECT host:port has
}

// has reports whether some pool serves addr (the CONNECT host:port): then a new
// client connection there is not dialled early (predial), since it likely rides one.
func (u *upstreamPool) has(addr string) bool {
	if u.rechecker == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.addrs[addr] > 0
}

func newUpstreamPool(p *Proxy) *upstreamPool {
	rc, _ := p.cfg.Checker.(Rechecker)
	return &upstreamPool{p: p, rechecker: rc, entries: map[poolKey]*poolEntry{}, addrs: map[string]int{}}
}

// poolEntry is one pool: an http.Transport whose every connection is dialled and
// judged by dial, and the chains those connections presented.
type poolEntry struct {
	pool   *upstreamPool
	key    poolKey
	target verifier.Target // the name (SNI) and port judged, and the address first dialled
	first  judged          // the first connection's chain, judged anew for every client connection
	tr     *http.Transport

	mu      sync.Mutex        // protects chains, conns, seed and retired
	chains  map[string]judged // by the leaf's fingerprint
	conns   map[*tls.Conn]struct{}
	seed    *tls.Conn // the first connection, made for the client's handshake, until the Transport takes it
	seedAt  time.Time
	retired bool
}

// poolIdlePerSite is how many idle connections a pool keeps (each is closed after
// 90 s idle). Requests from many client connections at once each need a connection,
// and Go's Transport dials one for a request that finds none idle even when another
// comes free a moment later; a connection returned beyond this bound is closed, so a
// bound below the client connections' concurrency makes the pool dial (a full
// handshake with the site, and a verdict) for a share of new client connections:
// with 8, that share was 6% at 8 concurrent clients and 68% at 64 (BenchmarkProxySetup's
// site-conns/conn).
var poolIdlePerSite = 64

// seedFresh is how long the first connection waits for the Transport to take it:
// below the 10 s in which Go's HTTP/2 server drops a silent client (as redialAfter).
// An older one is closed, and the Transport's first dial makes a new one.
var seedFresh = 5 * time.Second // a variable only so tests can shorten it

// find returns a live pool for a client connection to addr with the SNI sni that
// offers the protocols offer (in its order of preference), the protocol chosen, and
// the verdict on the pool's first certificate, which the Checker's Verify gives anew
// for this client connection (from its cache: microseconds; and it is reported, as
// every connection's verdict is); the other certificates are rechecked. A pool whose
// verdict no longer stands is retired; nil when there is none.
func (u *upstreamPool) find(ctx context.Context, addr, sni string, offer []string) (*poolEntry, string, verifier.Verdict) {
	if u.rechecker == nil {
		return nil, "", verifier.Verdict{}
	}
	for _, proto := range offer {
		u.mu.Lock()
		e := u.entries[poolKey{addr, sni, proto}]
		u.mu.Unlock()
		if e == nil {
			continue
		}
		v, err := u.p.cfg.Checker.Verify(ctx, e.first.target, e.first.chain)
		if err != nil || !v.Allowed() {
			e.retire()
			continue
		}
		if e.recheck(ctx) {
			return e, proto, v
		}
	}
	return nil, "", verifier.Verdict{}
}

// add makes a pool from the first connection to a site, just judged and trusted by
// verdict, when pooling is on, the protocol is HTTP and the verdict can be rechecked
// from memory (one the Checker cannot recheck would retire the pool at its first
// request); it returns nil otherwise, and the caller keeps the connection.
func (u *upstreamPool) add(ctx context.Context, addr, sni string, up *tls.Conn, verdict verifier.Verdict) *poolEntry {
	proto := up.ConnectionState().NegotiatedProtocol
	if u.rechecker == nil || (proto != "h2" && proto != "http/1.1") || !verdict.Allowed() {
		return nil
	}
	chain := up.ConnectionState().PeerCertificates
	if !u.rechecker.Recheck(ctx, verdict.Target, chain) {
		return nil
	}
	e := &poolEntry{pool: u, key: poolKey{addr, sni, proto}, target: verdict.Target,
		first:  judged{verdict.Target, chain},
		chains: map[string]judged{verdict.FingerprintSHA256: {verdict.Target, chain}},
		conns:  map[*tls.Conn]struct{}{up: {}}, seed: up, seedAt: time.Now()}
	e.tr = &http.Transport{
		DialTLSContext:         e.dial,
		ForceAttemptHTTP2:      proto == "h2",
		MaxIdleConnsPerHost:    poolIdlePerSite,
		IdleConnTimeout:        90 * time.Second,
		ResponseHeaderTimeout:  u.p.limits.IdleTimeout,
		MaxResponseHeaderBytes: int64(max(u.p.limits.MaxHeaderBytes, innerMaxHeaderBytes)),
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true, // what the client asked for goes as it is
	}
	e.track(up)
	u.mu.Lock()
	if old := u.entries[e.key]; old != nil {
		defer old.drain() // a second pool for the same key: the older one takes no new clients
	} else {
		u.addrs[addr]++
	}
	u.entries[e.key] = e
	u.mu.Unlock()
	return e
}

// recheck asks the Checker whether every certificate of the pool still stands, and
// retires the pool when one does not.
func (e *poolEntry) recheck(ctx context.Context) bool {
	e.mu.Lock()
	if e.retired {
		e.mu.Unlock()
		return false
	}
	chains := make([]judged, 0, len(e.chains))
	for _, j := range e.chains {
		chains = append(chains, j)
	}
	e.mu.Unlock()
	for _, j := range chains {
		if !e.pool.rechecker.Recheck(ctx, j.target, j.chain) {
			e.retire()
			return false
		}
	}
	return true
}

// takeSeedLocked takes the first connection: fresh, to hand out, or stale, to close
// (the client that made it went away without a request) once e.mu is released, as
// its close takes e.mu (track). e.mu must be held.
func (e *poolEntry) takeSeedLocked() (fresh, stale *tls.Conn) {
	s := e.seed
	e.seed = nil
	if s == nil || time.Since(e.seedAt) < seedFresh {
		return s, nil
	}
	return nil, s
}

// covers reports whether a request for authority (a Host header or :authority) is for
// the name the pool's certificates were judged for; the port is the CONNECT's.
func (e *poolEntry) covers(authority string) bool {
	if authority == "" {
		return true // an HTTP/1.0 request without Host: the connection's own name goes
	}
	host := authority
	if h, _, err := net.SplitHostPort(authority); err == nil {
		host = h
	}
	n, err := protocol.NormalizeHost(host)
	return err == nil && n == e.target.Host
}

// sweep rechecks every pool, so that a verdict withdrawn closes the connections it
// covered even when no request comes.
func (u *upstreamPool) sweep(ctx context.Context) {
	u.mu.Lock()
	all := make([]*poolEntry, 0, len(u.entries))
	for _, e := range u.entries {
		all = append(all, e)
	}
	u.mu.Unlock()
	for _, e := range all {
		if e.recheck(ctx) {
			e.mu.Lock()
			fresh, stale := e.takeSeedLocked()
			e.seed = fresh // still fresh: left for the Transport
			e.mu.Unlock()
			if stale != nil {
				stale.NetConn().Close()
			}
		}
	}
}

// sweepEvery is how often Serve rechecks every pool.
const sweepEvery = time.Second

// runSweeps rechecks every pool, and every connection relayed under verify without
// reading, every sweepEvery until ctx is done.
func (u *upstreamPool) runSweeps(ctx context.Context) {
	if u.rechecker == nil && u.p.cfg.Passthrough == nil {
		return
	}
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if u.rechecker != nil {
				u.sweep(ctx)
			}
			u.p.sweepPassTunnels(ctx) // passthrough.go
		}
	}
}

// dial is the Transport's DialTLSContext: the seed first, then new connections, each
// judged by the Checker like any interception's (connectAndVerify), for the pool's
// name, protocol and address. A connection that is not trusted retires the pool.
func (e *poolEntry) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	e.mu.Lock()
	if e.retired {
		e.mu.Unlock()
		return nil, errPoolRetired
	}
	fresh, stale := e.takeSeedLocked()
	e.mu.Unlock()
	if stale != nil {
		stale.NetConn().Close()
	}
	if fresh != nil {
		return fresh, nil
	}
	t := e.target
	t.Addr = netip.Addr{} // connectAndVerify sets it to where this connection goes
	dctx, cancel := context.WithTimeout(ctx, e.pool.p.limits.HandshakeTimeout)
	defer cancel()
	up, v, err := e.pool.p.connectAndVerify(dctx, nil, t, e.key.addr, e.key.sni, []string{e.key.proto}, nil)
	if err != nil {
		return nil, err
	}
	if !v.Allowed() {
		closeTLS(up)
		e.retire()
		return nil, fmt.Errorf("failed to reach %q: %w: %s", e.key.addr, errPoolRetired, v.Reason)
	}
	if got := up.ConnectionState().NegotiatedProtocol; got != e.key.proto {
		closeTLS(up)
		return nil, fmt.Errorf("failed to reach %q: the site now speaks %q, not %q", e.key.addr, got, e.key.proto)
	}
	e.mu.Lock()
	if e.retired {
		e.mu.Unlock()
		closeTLS(up)
		return nil, errPoolRetired
	}
	e.chains[v.FingerprintSHA256] = judged{v.Target, up.ConnectionState().PeerCertificates}
	e.conns[up] = struct{}{}
	e.mu.Unlock()
	e.track(up)
	return up, nil
}

// track has up leave conns when it is closed, by whoever closes it; the pool leaves
// the map when its last connection is gone (a site not visited for the Transport's
// idle time). e.mu must not be held.
func (e *poolEntry) track(up *tls.Conn) {
	nc, ok := up.NetConn().(*notifyConn)
	if !ok {
		return
	}
	nc.notify(func() {
		e.mu.Lock()
		delete(e.conns, up)
		empty := len(e.conns) == 0
		e.mu.Unlock()
		if empty {
			e.drain()
		}
	})
}

// retire closes every connection of the pool, idle or busy, and takes the pool out,
// so that no request rides it again.
func (e *poolEntry) retire() {
	e.mu.Lock()
	if e.retired {
		e.mu.Unlock()
		return
	}
	e.retired = true
	conns := e.conns
	e.conns, e.seed = nil, nil
	e.mu.Unlock()
	e.drain()
	for c := range conns {
		// The TCP connection itself, at once: a close_notify first would let the
		// site answer in the moment before the socket is closed, and the Transport
		// could still read that answer.
		c.NetConn().Close()
	}
	e.tr.CloseIdleConnections()
}

// drain takes the pool out of the map: no new client connection joins it; the ones
// on it keep it.
func (e *poolEntry) drain() {
	u := e.pool
	u.mu.Lock()
	if u.entries[e.key] == e {
		delete(u.entries, e.key)
		if u.addrs[e.key.addr]--; u.addrs[e.key.addr] <= 0 {
			delete(u.addrs, e.key.addr)
		}
	}
	u.mu.Unlock()
}

// closeAll retires every pool (the proxy stops).
func (u *upstreamPool) closeAll() {
	u.mu.Lock()
	all := make([]*poolEntry, 0, len(u.entries))
	for _, e := range u.entries {
		all = append(all, e)
	}
	u.mu.Unlock()
	for _, e := range all {
		e.retire()
	}
}
