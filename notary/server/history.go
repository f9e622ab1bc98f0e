package server

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/convergence-ng/convergence/notary/store"
)

// Defaults of the history kept in memory.
const (
	defaultCacheTargets = 10000
	// defaultCacheTTL is how long a target's history read from the store is used before
	// it is read again. Within one process every write goes through the cache; the TTL
	// bounds how late a process sees what another one sharing the store recorded.
	defaultCacheTTL = time.Second
)

// view is one target's history as read from the store, with what is derived from it
// alone: the signed v1 body and the v2 answers prepared but for nonce and time. A new
// history is a new view, so whatever hangs on a view is rebuilt exactly when the
// history changes. Read-only but for the lazily built parts.
type view struct {
	hist   []store.Observation // newest last seen first; never modified
	loaded time.Time           // when it was read from the store (notary clock)

	v1mu   sync.Mutex // serialises the signing of v1
	v1     atomic.Pointer[v1Signed]
	v2mu   sync.Mutex                 // serialises the writers of v2
	v2     atomic.Pointer[[]*v2Entry] // copied on write, at most maxV2PerView
	agreed []string                   // network check details of each observation, built with the view
}

// historyCache keeps the history of the targets asked about most recently in front of
// the store: reads are served from memory, writes go to the store and then replace the
// target's view. It holds at most max targets, evicting by the clock algorithm (a
// target asked about since the hand last passed stays).
type historyCache struct {
	st    Store
	max   int
	ttl   time.Duration
	now   func() time.Time
	fill  singleflight.Group // one store read per target at a time
	mu    sync.RWMutex       // protects slots, ring, hand, seq
	slots map[string]*slot
	ring  []*slot
	hand  int
	seq   uint64 // orders store reads: a view read later replaces one read earlier
	// stale, when set, is told of a failed store read answered from memory instead.
	stale func(error)
}

type slot struct {
	target string
	used   atomic.Bool
	seq    uint64 // of the read that produced v
	v      atomic.Pointer[view]
}

func newHistoryCache(st Store, max int, ttl time.Duration, now func() time.Time) *historyCache {
	return &historyCache{st: st, max: max, ttl: ttl, now: now, slots: map[string]*slot{}}
}

// get returns target's view: from memory when it was read within the TTL, else read
// from the store (one read shared by the concurrent callers).
func (c *historyCache) get(ctx context.Context, target string) (*view, error) {
	c.mu.RLock()
	s := c.slots[target]
	c.mu.RUnlock()
	if s != nil {
		s.used.Store(true)
		if v := s.v.Load(); v != nil && c.now().Sub(v.loaded) < c.ttl {
			return v, nil
		}
	}
	r, err := c.fetch(ctx, target)
	v := r.v
	if err != nil && ctx.Err() == nil && s != nil {
		// The store failed (it is down: storehealth.go). What memory holds is still
		// what this notary saw, so a question it answers with a fresh sighting is
		// answered: it can confirm nothing the notary did not see within the window;
		// it may miss what another fleet member recorded since, which makes it refuse
		// rather than confirm. A question it does not answer needs the store and fails.
		if old := s.v.Load(); old != nil {
			if c.stale != nil {
				c.stale(err)
			}
			return old, nil
		}
	}
	return v, err
}

// reload reads target's history from the store, in a read begun after the call, and
// installs it unless a view read later got there first. A read already in flight is
// joined only when it began after the call: one begun before may predate what the
// caller waits for (another fleet member's record, which this process never saw written).
func (c *historyCache) reload(ctx context.Context, target string) (*view, error) {
	c.mu.RLock()
	since := c.seq
	c.mu.RUnlock()
	r, err := c.fetch(ctx, target)
	if err != nil || r.seq > since {
		return r.v, err
	}
	// The read joined began before the call. The next one begins after it ended: a
	// read leaves the single flight before its callers are told, so none older is left.
	r, err = c.fetch(ctx, target)
	return r.v, err
}

// fetched is one read of the store: the view it installed and the read's place in seq.
type fetched struct {
	v   *view
	seq uint64
}

// fetch reads target's history from the store and installs it; concurrent callers
// share the read in flight, whenever it began.
func (c *historyCache) fetch(ctx context.Context, target string) (fetched, error) {
	ch := c.fill.DoChan(target, func() (any, error) {
		c.mu.Lock()
		c.seq++
		seq := c.seq
		c.mu.Unlock()
		// Detached from the first caller: the others share the read.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		hist, err := c.st.History(rctx, target)
		if err != nil {
			return fetched{}, err
		}
		return fetched{c.install(target, seq, hist), seq}, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return fetched{}, r.Err
		}
		return r.Val.(fetched), nil
	case <-ctx.Done():
		return fetched{}, ctx.Err()
	}
}

// record writes through to the store, then reads the target's history back (the
// store merges first and last seen) and installs it; if that read fails the target is
// forgotten, so the next question reads the store.
func (c *historyCache) record(ctx context.Context, target string, at time.Time, seen []store.Sighting) error {
	err := c.st.Record(ctx, target, at, seen)
	c.fill.Forget(target) // a read in flight may predate the write
	if err != nil {
		c.forget(target)
		return err
	}
	if _, err := c.reload(ctx, target); err != nil {
		c.forget(target)
	}
	return nil
}

func (c *historyCache) forget(target string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if s := c.slots[target]; s != nil {
		s.seq = c.seq
		s.v.Store(nil)
	}
}

// install makes hist target's view if no later read was installed. An unchanged
// history keeps its view (and what was built on it), with a new load time.
func (c *historyCache) install(target string, seq uint64, hist []store.Observation) *view {
	c.mu.Lock()
	defer c.mu.Unlock()
	nv := newView(hist, c.now())
	s := c.slots[target]
	if s == nil {
		s = &slot{target: target}
		c.add(s)
	}
	if seq < s.seq {
		if cur := s.v.Load(); cur != nil {
			return cur
		}
		return nv // forgotten after this read started: answer with it, keep nothing
	}
	s.seq = seq
	if cur := s.v.Load(); cur != nil && sameHistory(cur.hist, hist) {
		nv = cur.reloaded(c.now())
	}
	s.v.Store(nv)
	s.used.Store(true)
	return nv
}

// add puts s in the ring, evicting a target not asked about since the hand last
// passed when the ring is full. Called with mu held.
func (c *historyCache) add(s *slot) {
	c.slots[s.target] = s
	if len(c.ring) < c.max {
		c.ring = append(c.ring, s)
		return
	}
	for {
		victim := c.ring[c.hand]
		if !victim.used.Swap(false) {
			delete(c.slots, victim.target)
			c.ring[c.hand] = s
			c.hand = (c.hand + 1) % len(c.ring)
			return
		}
		c.hand = (c.hand + 1) % len(c.ring)
	}
}

// len returns how many targets are held.
func (c *historyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.slots)
}

func newView(hist []store.Observation, at time.Time) *view {
	v := &view{hist: hist, loaded: at, agreed: make([]string, len(hist))}
	for i, o := range hist {
		v.agreed[i] = agreeDetail(o)
	}
	return v
}

// reloaded returns a view of the same history with a new load time, sharing what was
// built on v (the built parts are immutable once made).
func (v *view) reloaded(at time.Time) *view {
	nv := &view{hist: v.hist, loaded: at, agreed: v.agreed}
	nv.v1.Store(v.v1.Load())
	nv.v2.Store(v.v2.Load())
	return nv
}

// sameHistory compares what answers are made of (not the DER, which the store keys by
// its fingerprint).
func sameHistory(a, b []store.Observation) bool {
	return slices.EqualFunc(a, b, func(x, y store.Observation) bool {
		return x.SHA256 == y.SHA256 && x.SHA1 == y.SHA1 && x.FirstSeen.Equal(y.FirstSeen) && x.LastSeen.Equal(y.LastSeen) &&
			x.CAValid == y.CAValid && x.CADetail == y.CADetail
	})
}
