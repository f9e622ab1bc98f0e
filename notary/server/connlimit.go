package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
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
// has sent a request keeps its connection. When every slot is taken, Accept does not
// wait for the sweep: it closes a silent connection of the client holding the most
// (many addresses hoarding 32 each still fill the slots; BenchmarkHoard's
// "five-hoarders" waited 7.5 s per answer with the sweep alone). Safe for concurrent use.
type connLimiter struct {
	net.Listener
	sem             chan struct{} // one token per open connection (or Accept waiting for one)
	perClient       int
	exempt          func(netip.Addr) bool // peers outside the per-client shares (trusted proxies); nil: none
	pressureAt      int
	pressureTimeout time.Duration
	evictAge        time.Duration // the youngest silent connection evict may close
	log             *slog.Logger
	done            chan struct{} // closed by Close: wakes an Accept waiting for a slot
	closeOnce       sync.Once

	mu       sync.Mutex // protects the fields below
	open     int
	byClient map[netip.Prefix]int
	fresh    map[*limitedConn]struct{} // open connections that have sent no request yet
	freshBy  map[netip.Prefix]int      // how many of them each client holds
	refused  int                       // beyond a client's share, since the last report
	swept    int                       // closed under pressure, since the last report
}

func newConnLimiter(ln net.Listener, maxConns, perClient int, pressureTimeout time.Duration, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, sem: make(chan struct{}, maxConns), perClient: min(perClient, maxConns),
		pressureAt: max(1, maxConns*3/4), pressureTimeout: pressureTimeout, evictAge: pressureTimeout / 10, log: log, done: make(chan struct{}),
		byClient: map[netip.Prefix]int{}, fresh: map[*limitedConn]struct{}{}, freshBy: map[netip.Prefix]int{}}
}

// Accept returns the next connection whose client is within its share (it closes the
// others at once, without taking a slot), once a slot is free: when all are taken, it
// frees one by closing a silent connection of the client that holds the most (see
// evict), else it waits.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := l.admit(c)
		if lc == nil {
			c.Close()
			continue
		}
		if err := l.acquire(); err != nil {
			l.unadmit(lc)
			c.Close()
			return nil, err
		}
		l.mu.Lock()
		l.open++
		l.fresh[lc] = struct{}{}
		l.freshBy[lc.key]++
		l.mu.Unlock()
		return lc, nil
	}
}

// acquire takes a slot, evicting a silent connection when all are taken.
func (l *connLimiter) acquire() error {
	for {
		select {
		case l.sem <- struct{}{}:
			return nil
		case <-l.done:
			return net.ErrClosed
		default:
		}
		if l.evict(time.Now()) {
			continue
		}
		t := time.NewTimer(l.evictAge)
		select {
		case l.sem <- struct{}{}:
			t.Stop()
			return nil
		case <-l.done:
			t.Stop()
			return net.ErrClosed
		case <-t.C:
		}
	}
}

// evict closes the oldest silent connection (no request yet) of the client that has
// the most silent connections, if it is evictAge old, and reports whether it did. A hoarder holds many such connections, a normal client one at most while
// it shakes hands, so the hoarder's go first.
func (l *connLimiter) evict(now time.Time) bool {
	l.mu.Lock()
	var top netip.Prefix
	for k, n := range l.freshBy {
		if n > l.freshBy[top] {
			top = k
		}
	}
	var victim *limitedConn
	for c := range l.fresh {
		if c.key == top && now.Sub(c.opened) >= l.evictAge && (victim == nil || c.opened.Before(victim.opened)) {
			victim = c
		}
	}
	if victim != nil {
		l.swept++
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.Close()
	return true
}

// pressureFreshShare is how many silent connections (no request yet) a client may hold
// under pressure; a browser opens a few at once, a hoarder hundreds.
const pressureFreshShare = 4

// dropFresh marks c as having sent a request (or gone); l.mu must be held.
func (l *connLimiter) dropFresh(c *limitedConn) {
	if _, ok := l.fresh[c]; !ok {
		return
	}
	delete(l.fresh, c)
	if l.freshBy[c.key]--; l.freshBy[c.key] <= 0 {
		delete(l.freshBy, c.key)
	}
}

// admit counts c against its client's share, or returns nil when the share is taken.
func (l *connLimiter) admit(c net.Conn) *limitedConn {
	lc := &limitedConn{Conn: c, l: l, opened: time.Now()}
	// A trusted proxy's connections carry many clients: they count against max only.
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil && (l.exempt == nil || !l.exempt(ap.Addr().Unmap())) {
		lc.key, lc.keyed = clientKey(ap.Addr()), true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.keyed {
		// Under pressure a client may also hold only a few silent connections: the
		// hoarder's reopened ones are then refused at once instead of queueing
		// ahead of other clients for a slot.
		if l.byClient[lc.key] >= l.perClient || l.open >= l.pressureAt && l.freshBy[lc.key] >= pressureFreshShare {
			l.refused++
			return nil
		}
		l.byClient[lc.key]++
	}
	return lc
}

// unadmit undoes admit for a connection that got no slot.
func (l *connLimiter) unadmit(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.keyed {
		if l.byClient[c.key]--; l.byClient[c.key] <= 0 {
			delete(l.byClient, c.key)
		}
	}
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
	// Only the first transition matters (a request came); the later ones, two a
	// request, skip the lock.
	if lc, ok := c.(*limitedConn); ok && !lc.spoke.Swap(true) {
		l.mu.Lock()
		l.dropFresh(lc)
		l.mu.Unlock()
	}
}

// release frees c's slot and its share.
func (l *connLimiter) release(c *limitedConn) {
	l.unadmit(c)
	l.mu.Lock()
	l.open--
	l.dropFresh(c)
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
	spoke  atomic.Bool // past StateNew: connState has dropped it from fresh
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}
