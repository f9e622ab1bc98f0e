package server

import (
	"context"
	"time"

	"github.com/convergence-ng/convergence/notary/store"
)

// Store is what the notary needs of its database. The notary owns this interface; the
// stores in notary/store (a SQLite file, a PostgreSQL database) implement it.
type Store interface {
	// Record adds the sightings of one probe of target made at time at: new
	// certificates get first and last seen = at; known ones get last seen = at (never
	// moved back) and the CA result of this sighting.
	Record(ctx context.Context, target string, at time.Time, seen []store.Sighting) error
	// History returns the target's observations, newest last seen first, at most
	// store.MaxHistory.
	History(ctx context.Context, target string) ([]store.Observation, error)
}

// Leaser hands out one probe lease per target among the processes sharing a store (a
// fleet), so one of them probes a new target and the others read what it records. A
// lease expires: a member that dies holding one holds the others up until then only.
type Leaser interface {
	// TryLease takes the lease on target for holder for d, unless another holder has
	// one that has not expired; it reports whether holder holds it now, and how many
	// probes of target have ended under a lease (it moves when another member's probe
	// ends, whatever that probe saw).
	TryLease(ctx context.Context, target, holder string, d time.Duration) (ok bool, probes int64, err error)
	// ReleaseLease gives back holder's lease on target, if it still has it, counting a
	// probe ended when probed.
	ReleaseLease(ctx context.Context, target, holder string, probed bool) error
}
