package server

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps one token bucket per client, keyed by IPv4 address or IPv6 /64, in a map
// bounded by LRU eviction. Safe for concurrent use.
type limiter struct {
	rate  rate.Limit
	burst int
	max   int
	mu    sync.Mutex // protects byKey and order
	byKey map[netip.Prefix]*list.Element
	order *list.List // of *bucket, most recently used first
}

type bucket struct {
	key netip.Prefix
	lim *rate.Limiter
}

func newLimiter(perSecond float64, burst, maxClients int) *limiter {
	if maxClients <= 0 {
		maxClients = 10000
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, max: maxClients, byKey: map[netip.Prefix]*list.Element{}, order: list.New()}
}

// clientKey groups an IPv6 client by its /64, which one subscriber usually holds whole.
func clientKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	return netip.PrefixFrom(a, 32)
}

// allow reports whether the client at a may make a request now.
func (l *limiter) allow(a netip.Addr, now time.Time) bool {
	k := clientKey(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.byKey[k]; ok {
		l.order.MoveToFront(e)
		return e.Value.(*bucket).lim.AllowN(now, 1)
	}
	if l.order.Len() >= l.max {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.byKey, old.Value.(*bucket).key)
	}
	b := &bucket{key: k, lim: rate.NewLimiter(l.rate, l.burst)}
	l.byKey[k] = l.order.PushFront(b)
	return b.lim.AllowN(now, 1)
}

// size returns how many clients are tracked.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}
