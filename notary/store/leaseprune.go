package store

import (
	"sync/atomic"
	"time"
)

// Lease rows were never removed: a notary asked about many targets kept one row per
// target it ever probed (issue 18). A free or expired lease row holds nothing a member
// needs once every waiter has seen its count move, so TryLease deletes the rows that
// expired more than leasePruneGrace ago, at most once per leasePruneEvery per process.
// A waiter whose row went meanwhile loses nothing: it takes a new lease and, before
// probing, reads the history (server's fleetProbe: answered), which holds the probe's
// record.
const (
	leasePruneEvery = 10 * time.Second
	leasePruneGrace = time.Minute
)

// leasePruner decides when a store prunes its lease rows. Safe for concurrent use.
type leasePruner struct {
	every, grace time.Duration // zero: the defaults; tests set their own
	last         atomic.Int64  // Unix nanoseconds of the last prune
}

// due reports whether a prune should run now, claiming it for the caller.
func (p *leasePruner) due(now time.Time) bool {
	every := p.every
	if every == 0 {
		every = leasePruneEvery
	}
	last := p.last.Load()
	if every > 0 && now.UnixNano()-last < int64(every) {
		return false
	}
	return p.last.CompareAndSwap(last, now.UnixNano())
}

func (p *leasePruner) graceOf() time.Duration {
	if p.grace == 0 {
		return leasePruneGrace
	}
	return max(p.grace, 0)
}
