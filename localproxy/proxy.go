package localproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// Proxy is the loopback HTTP proxy. Build it with New; it is safe for concurrent use.
type Proxy struct {
	cfg         Config
	limits      Limits
	log         *slog.Logger
	ca          atomic.Pointer[CA]
	dialer      func(ctx context.Context, network, addr string) (net.Conn, error)
	plain       *httputil.ReverseProxy
	plainTr     *http.Transport
	self        sync.Map          // listener addresses of running Serve calls (string → struct{}), to refuse loops
	wayOuts     wayOuts           // the block pages' buttons (pages.go)
	tickets     *ticketKeys       // client-facing session tickets (resume.go)
	sessions    *upstreamSessions // sessions toward sites whose certificate was trusted (resume.go)
	pool        *upstreamPool     // verified connections to sites, reused (pool.go)
	passTunnels passTunnels       // connections relayed under verify without reading (passthrough.go)
}

// errLoop means a dial ended at one of the proxy's own listeners.
var errLoop = errors.New("the target is this proxy itself")

// New checks cfg and returns a Proxy ready to Serve.
func New(cfg Config) (*Proxy, error) {
	if cfg.Checker == nil {
		return nil, errors.New("failed to create proxy: Config.Checker is nil")
	}
	if cfg.CA == nil {
		return nil, errors.New("failed to create proxy: Config.CA is nil")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if err := checkLoopbackAddr(cfg.Addr); err != nil {
		return nil, fmt.Errorf("failed to create proxy: %w", err)
	}
	if u := cfg.UpstreamProxy; u != nil && (u.Scheme != "http" || u.Host == "") {
		return nil, fmt.Errorf("failed to create proxy: upstream proxy %q: want http://host:port", u.String())
	}
	p := &Proxy{cfg: cfg, limits: cfg.Limits.withDefaults(), log: cfg.Logger,
		tickets: newTicketKeys(), sessions: newUpstreamSessions()}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.dialer = cfg.DialContext
	if p.dialer == nil {
		p.dialer = (&net.Dialer{Timeout: p.limits.HandshakeTimeout}).DialContext
	}
	p.ca.Store(cfg.CA)
	p.plainTr, p.plain = p.newPlainForwarder()
	p.pool = newUpstreamPool(p)
	return p, nil
}

// Limits returns the limits in force: Config.Limits with the defaults filled in.
func (p *Proxy) Limits() Limits { return p.limits }

// SetCA replaces the CA used for connections that start from now on, as after
// RegenerateCA. Connections already open keep their leaves; no session made under the
// old CA's leaves is resumed.
func (p *Proxy) SetCA(ca *CA) {
	if ca != nil {
		p.ca.Store(ca)
		p.tickets.forget()
	}
}

// ListenAndServe listens on Config.Addr and serves until ctx is done.
func (p *Proxy) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", p.cfg.Addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %q: %w", p.cfg.Addr, err)
	}
	return p.Serve(ctx, ln)
}

// Serve accepts proxy clients on ln, which must be a loopback TCP listener, until ctx
// is done. It then closes ln and every connection it serves, waits for their goroutines
// to end and returns nil. It returns an error if ln is refused or fails.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	if err := checkLoopbackListener(ln); err != nil {
		ln.Close()
		return err
	}
	inner := p.newInnerServer(ctx)
	ctx = context.WithValue(ctx, innerKey{}, inner)
	h := &handler{p: p, ctx: ctx, self: ln.Addr().String()}
	p.self.Store(h.self, struct{}{})
	defer p.self.Delete(h.self)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: p.limits.HeaderTimeout,
		IdleTimeout:       p.limits.IdleTimeout,
		MaxHeaderBytes:    p.limits.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(inner.run) // ends at inner.close below
	sweepCtx, stopSweeps := context.WithCancel(ctx)
	defer stopSweeps()
	wg.Go(func() { p.pool.runSweeps(sweepCtx) }) // ends when Serve returns
	wg.Go(func() {                               // ends when ctx is done or Serve returns on its own
		select {
		case <-ctx.Done():
			srv.Close()
		case <-stopped:
		}
	})
	err := srv.Serve(newLimitListener(ln, p.limits.MaxConns))
	close(stopped)
	srv.Close()
	inner.close()
	stopSweeps()
	wg.Wait()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.active.Wait()
	p.plainTr.CloseIdleConnections()
	p.pool.closeAll()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("failed to serve proxy on %q: %w", ln.Addr().String(), err)
}

// handler is one Serve call's http.Handler. ServeHTTP calls are tracked so Serve can
// wait for hijacked connections, which http.Server no longer owns.
type handler struct {
	p      *Proxy
	ctx    context.Context
	self   string // the listener's host:port, to spot requests for the proxy itself
	active sync.WaitGroup

	mu     sync.Mutex // protects closed and orders active.Add before active.Wait
	closed bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.active.Add(1)
	h.mu.Unlock()
	defer h.active.Done()
	switch {
	case r.Method == http.MethodConnect:
		h.p.serveConnect(h.ctx, w, r)
	case r.URL.IsAbs() && r.URL.Host != h.self:
		h.p.servePlain(w, r)
	default:
		h.p.serveLocal(w, r, h.self)
	}
}

// dialSite opens a TCP connection to addr (host:port), through the upstream proxy when
// one is configured.
func (p *Proxy) dialSite(ctx context.Context, addr string) (net.Conn, error) {
	if p.cfg.UpstreamProxy == nil {
		return p.dial(ctx, "tcp", addr)
	}
	if lo := localhostAddrs(addr); lo != nil {
		addr = lo[0] // the upstream proxy must not resolve the name either
	}
	return dialViaProxy(ctx, p.dial, p.cfg.UpstreamProxy, addr, p.limits.MaxHeaderBytes)
}

// dial connects with the configured dialer and refuses a connection that ends at one
// of this proxy's own listeners: a CONNECT to the proxy's own address (by any name)
// would otherwise nest, each level holding two of the MaxConns slots, so one client
// could fill them all. A localhost name is dialled at the loopback addresses, never
// resolved (see localhostAddrs).
func (p *Proxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	var err error
	if lo := localhostAddrs(addr); lo != nil {
		for _, a := range lo {
			if c, err = p.dialer(ctx, network, a); err == nil {
				break
			}
		}
	} else {
		c, err = p.dialer(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	setKeepAlive(c)
	if ra := c.RemoteAddr(); ra != nil {
		if _, loop := p.self.Load(ra.String()); loop {
			c.Close()
			return nil, fmt.Errorf("failed to reach %q: %w", addr, errLoop)
		}
	}
	return c, nil
}

func (p *Proxy) paused() bool { return p.cfg.Paused != nil && p.cfg.Paused() }

// localhostAddrs returns the loopback addresses (IPv4 first) with addr's port when
// addr's host is "localhost" or a name under it (RFC 6761, any case, trailing dot or
// not), and nil otherwise. Such names are exempt from checking because they mean this
// machine; handed to a resolver they can go to DNS, where whoever answers would get
// an unchecked tunnel.
func localhostAddrs(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	h, err := protocol.NormalizeHost(host)
	if err != nil || h != "localhost" && !strings.HasSuffix(h, ".localhost") {
		return nil
	}
	return []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
}
