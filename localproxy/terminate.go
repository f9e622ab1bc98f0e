package localproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The intercepted HTTP connections whose requests ride a pool (pool.go) are served by
// one http.Server per Serve call (innerServer), on the client's TLS connection once
// its handshake is done: HTTP/1.1 or HTTP/2, whichever the client and the site agreed
// on. Each request is rechecked, then forwarded by a ReverseProxy over its pool's
// Transport. An HTTP/1.1 upgrade (WebSocket) gets a site connection of its own, judged
// like any, and the byte tunnel with its idle timer, as before pools.

// innerMaxHeaderBytes is the least header size the inner server and the pools take
// (requests, responses): a site's own headers, which passed through the tunnel
// unbounded, can be larger than what the proxy takes of a CONNECT (big cookies).
const innerMaxHeaderBytes = 256 << 10

// innerKey is the context key under which Serve hands its innerServer to the
// connections it serves.
type innerKey struct{}

// servedKey is the context key of a served connection's *servedConn.
type servedKey struct{}

// innerServer serves intercepted connections for one Serve call.
type innerServer struct {
	p     *Proxy
	srv   *http.Server
	ln    *connListener
	conns sync.Map // *tls.Conn → *servedConn, from serve until the server is done with it
	rp    *httputil.ReverseProxy
}

// servedConn is one client connection on the inner server, and the pool it rides.
type servedConn struct {
	entry *poolEntry
	done  chan struct{} // closed when the server is done with the connection
	once  sync.Once
}

func (sc *servedConn) finish() { sc.once.Do(func() { close(sc.done) }) }

func (p *Proxy) newInnerServer(ctx context.Context) *innerServer {
	is := &innerServer{p: p, ln: newConnListener()}
	is.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "https"
			pr.Out.URL.Host = servedFrom(pr.In.Context()).entry.key.addr // the pool dials its own site whatever this says
			pr.Out.Host = pr.In.Host
			// The client's own forwarding headers go as they came, as through a tunnel.
			for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
		},
		Transport:     poolRoundTripper{},
		BufferPool:    copyBufPool{},
		FlushInterval: -1, // every write goes on at once, as through a tunnel
		ErrorLog:      slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, errPoolRetired) {
				is.refuse(w, r)
				return
			}
			p.log.Info("failed to forward request", "host", r.Host, "err", err)
			http.Error(w, "failed to reach "+r.Host, http.StatusBadGateway)
		},
	}
	is.srv = &http.Server{
		Handler:           is,
		ReadHeaderTimeout: p.limits.HeaderTimeout,
		IdleTimeout:       p.limits.IdleTimeout,
		MaxHeaderBytes:    max(p.limits.MaxHeaderBytes, innerMaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if sc, ok := is.conns.Load(c); ok {
				return context.WithValue(ctx, servedKey{}, sc)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateClosed:
				if sc, ok := is.conns.LoadAndDelete(c); ok {
					sc.(*servedConn).finish()
				}
			case http.StateHijacked:
				is.conns.Delete(c) // the upgrade's handler finishes it when its tunnel ends
			}
		},
	}
	return is
}

// run serves until close; it returns when the listener is closed.
func (is *innerServer) run() { is.srv.Serve(is.ln) }

// close closes the listener and every connection the server serves.
func (is *innerServer) close() {
	is.ln.Close()
	is.srv.Close()
}

// serve hands tc, whose handshake is done, to the server and returns a channel closed
// when the server is done with it.
func (is *innerServer) serve(tc *tls.Conn, e *poolEntry) <-chan struct{} {
	sc := &servedConn{entry: e, done: make(chan struct{})}
	is.conns.Store(tc, sc)
	select {
	case is.ln.ch <- tc:
	case <-is.ln.done:
		is.conns.Delete(tc)
		tc.Close()
		sc.finish()
	}
	return sc.done
}

func servedFrom(ctx context.Context) *servedConn {
	sc, _ := ctx.Value(servedKey{}).(*servedConn)
	return sc
}

// ServeHTTP rechecks the pool's verdict, then forwards the request over the pool, or
// opens a tunnel for an upgrade.
func (is *innerServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sc := servedFrom(r.Context())
	if sc == nil {
		http.Error(w, "connection not known", http.StatusInternalServerError)
		return
	}
	if !sc.entry.recheck(r.Context()) {
		is.refuse(w, r)
		return
	}
	if !sc.entry.covers(r.Host) {
		// Only the name judged rides this pool; a client that wants another opens
		// a connection with that name (RFC 9110 15.5.20).
		http.Error(w, "convergence: this connection was checked for "+sc.entry.target.Host+", not "+r.Host,
			http.StatusMisdirectedRequest)
		return
	}
	if r.ProtoMajor == 1 {
		if httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") {
			is.upgrade(w, r, sc)
			return
		}
		// The body may still come while the answer goes, as through a tunnel.
		http.NewResponseController(w).EnableFullDuplex()
	}
	is.rp.ServeHTTP(w, r)
}

// watchedConn is a client connection under its TLS. Once the inner server serves
// it, an idleWatch closes it when no byte moved either way for the idle timeout, or
// when a write to it has stalled that long: the tunnel's rule (tunnel.go), for the
// connections whose bytes the proxy no longer copies itself.
type watchedConn struct {
	net.Conn
	w atomic.Pointer[idleWatch]
}

func (c *watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if w := c.w.Load(); w != nil && n > 0 {
		w.last.Store(w.now())
	}
	return n, err
}

// Write is called by one goroutine at a time (the TLS layer's lock orders them).
func (c *watchedConn) Write(b []byte) (int, error) {
	w := c.w.Load()
	if w == nil {
		return c.Conn.Write(b)
	}
	w.writing[0].Store(w.now() + 1)
	n, err := c.Conn.Write(b)
	w.last.Store(w.now())
	w.writing[0].Store(0)
	return n, err
}

// watch starts the idle watch; the returned func stops it.
func (c *watchedConn) watch(idle time.Duration) func() {
	w := newIdleWatch(idle, func() { c.Conn.Close() })
	c.w.Store(w)
	return w.stop
}

// refuse answers a request whose pool was retired, with the verdict headers, and
// closes the client's connection (HTTP/2: GOAWAY) so that its next one is judged
// afresh, and shown the block page if the certificate is now rejected.
func (is *innerServer) refuse(w http.ResponseWriter, r *http.Request) {
	site := servedFrom(r.Context()).entry.target.String()
	reason := fmt.Sprintf("the certificate of %s is no longer trusted (its verdict was withdrawn or changed); load the page again to have it checked", site)
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Cache-Control", "no-store")
	h.Set(HeaderVerdict, "rejected")
	h.Set(HeaderReason, oneLine(reason))
	http.Error(w, "convergence: rejected: "+reason, http.StatusForbidden)
}

// upgrade serves an HTTP/1.1 upgrade (WebSocket) on a site connection of its own,
// judged like any (the pool's dial), and the byte tunnel: the request goes to the site
// as it came, and the site's answer (101, or a refusal) comes back through the tunnel.
func (is *innerServer) upgrade(w http.ResponseWriter, r *http.Request, sc *servedConn) {
	up, err := sc.entry.dial(r.Context(), "tcp", sc.entry.key.addr)
	if err != nil {
		if errors.Is(err, errPoolRetired) {
			is.refuse(w, r)
			return
		}
		is.p.log.Info("failed to reach site for an upgrade", "site", sc.entry.target.String(), "err", err)
		http.Error(w, "failed to reach "+r.Host, http.StatusBadGateway)
		return
	}
	raw, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		http.Error(w, "failed to upgrade", http.StatusInternalServerError)
		return
	}
	defer sc.finish()
	client := &bufferedConn{Conn: raw, r: brw.Reader}
	if _, ok := r.Header["User-Agent"]; !ok {
		r.Header["User-Agent"] = []string{""} // Request.Write would add Go's own
	}
	if err := r.Write(up); err != nil {
		up.Close()
		client.Close()
		return
	}
	is.p.tunnel(client, up)
}

// copyBufPool lends the ReverseProxy the tunnels' copy buffers (tunnel.go).
type copyBufPool struct{}

func (copyBufPool) Get() []byte  { return *copyBufs.Get().(*[]byte) }
func (copyBufPool) Put(b []byte) { copyBufs.Put(&b) }

// poolRoundTripper sends a request over the Transport of its connection's pool.
type poolRoundTripper struct{}

func (poolRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	sc := servedFrom(req.Context())
	if sc == nil {
		return nil, errors.New("failed to forward request: no pool for its connection")
	}
	return sc.entry.tr.RoundTrip(req)
}

// connListener hands the inner server the connections serve gives it.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
