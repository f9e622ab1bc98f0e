package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// connLimiter is the notary's listener limit. It keeps at most max connections open at
// once (more wait in the listen backlog, as with netutil.LimitListener) and at most
// perClient of them from one client (IPv4 address or IPv6 /64, as the rate limit keys
// clients): a client's connection beyond its share is closed at once, so the other
// slots stay free for others. Issue 20: with one shared limit, one address reopening
// 1,100 silent connections made every other client wait 4-5 s per connection.
//
// Under pressure (open connections at pressureAt or more) a connection that has sent no
// request within pressureTimeout is closed by run's sweep: a silent handshake then holds
// a slot for about a second instead of the full handshake timeout, while a client that
// has sent a request keeps its connection. Safe for concurrent use.
type connLimiter struct {
	net.Listener
	sem             chan struct{} // one token per open connection (or Accept waiting for one)
	perClient       int
	pressureAt      int
	pressureTimeout time.Duration
	log             *slog.Logger
	done            chan struct{} // closed by Close: wakes an Accept waiting for a slot
	closeOnce       sync.Once

	mu       sync.Mutex // protects the fields below
	open     int
	byClient map[netip.Prefix]int
	fresh    map[*limitedConn]struct{} // open connections that have sent no request yet
	refused  int                       // beyond a client's share, since the last report
	swept    int                       // closed under pressure, since the last report
}

func newConnLimiter(ln net.Listener, maxConns, perClient int, pressureTimeout time.Duration, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, sem: make(chan struct{}, maxConns), perClient: min(perClient, maxConns),
		pressureAt: max(1, maxConns*3/4), pressureTimeout: pressureTimeout, log: log, done: make(chan struct{}),
		byClient: map[netip.Prefix]int{}, fresh: map[*limitedConn]struct{}{}}
}

// Accept waits for a free slot, then returns the next connection whose client is
// within its share; it closes the others at once.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
		c.Close()
		<-l.sem
	}
}

// admit counts c against its client's share, or returns nil when the share is taken.
func (l *connLimiter) admit(c net.Conn) *limitedConn {
	lc := &limitedConn{Conn: c, l: l, opened: time.Now()}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		lc.key, lc.keyed = clientKey(ap.Addr()), true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.keyed {
		if l.byClient[lc.key] >= l.perClient {
			l.refused++
			return nil
		}
		l.byClient[lc.key]++
	}
	l.open++
	l.fresh[lc] = struct{}{}
	return lc
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// connState is the http.Server's ConnState hook: a connection past StateNew has sent a
// request (or is gone), so pressure no longer closes it.
func (l *connLimiter) connState(c net.Conn, s http.ConnState) {
	if s == http.StateNew {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok {
		l.mu.Lock()
		delete(l.fresh, lc)
		l.mu.Unlock()
	}
}

// release frees c's slot and its share.
func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	if c.keyed {
		if l.byClient[c.key]--; l.byClient[c.key] <= 0 {
			delete(l.byClient, c.key)
		}
	}
	l.open--
	delete(l.fresh, c)
	l.mu.Unlock()
	<-l.sem
}

// run sweeps until ctx is done, every quarter of pressureTimeout, and reports refusals
// (without addresses: the notary does not record who asks) at most once a minute.
func (l *connLimiter) run(ctx context.Context) {
	t := time.NewTicker(l.pressureTimeout / 4)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			l.sweep(now)
			if now.Sub(last) >= time.Minute {
				last = now
				l.report()
			}
		}
	}
}

// sweep closes, under pressure, the connections that have sent no request within
// pressureTimeout of now, and returns how many.
func (l *connLimiter) sweep(now time.Time) int {
	l.mu.Lock()
	var stale []*limitedConn
	if l.open >= l.pressureAt {
		for c := range l.fresh {
			if now.Sub(c.opened) >= l.pressureTimeout {
				stale = append(stale, c)
			}
		}
		l.swept += len(stale)
	}
	l.mu.Unlock()
	for _, c := range stale {
		c.Close()
	}
	return len(stale)
}

func (l *connLimiter) report() {
	l.mu.Lock()
	refused, swept, open, clients := l.refused, l.swept, l.open, len(l.byClient)
	l.refused, l.swept = 0, 0
	l.mu.Unlock()
	if refused > 0 || swept > 0 {
		l.log.Warn("connection limits in use", "refused_over_client_share", refused,
			"closed_silent_under_pressure", swept, "open", open, "clients", clients)
	}
}

// limitedConn frees its slot and its client's share when closed, once.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	key    netip.Prefix
	keyed  bool
	opened time.Time
	once   sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}
