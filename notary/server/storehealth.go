package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/notary/store"
)

// When the store goes away (a PostgreSQL server stopped, a network cut), a notary must
// neither hang nor fail with a 500 (issue 18): every store call is bounded, and once one
// fails the store counts as down. While it is down, calls fail at once, except one try
// per storeRetryEvery, which brings it back up when it answers; questions the history in
// memory answers are still answered (historyCache.get), the others get 503 with
// Retry-After. The log says when it went down, why, and what to check, and when it came
// back: one line each, not one per request.
const (
	storeCallTimeout = 5 * time.Second
	storeRetryEvery  = time.Second
)

// errStoreDown is what a call made while the store is down and not retried returns.
var errStoreDown = errors.New("the store is down since its last call failed")

// watchedStore is the notary's store and leases with the health above. Safe for
// concurrent use.
type watchedStore struct {
	st      Store
	leases  Leaser // nil without leases
	log     *slog.Logger
	metrics *Metrics
	timeout time.Duration
	retry   time.Duration

	mu      sync.Mutex // protects down, since, tried, lastErr
	down    bool
	since   time.Time // when it went down
	tried   time.Time // the last call let through while down
	lastErr error
}

func newWatchedStore(st Store, leases Leaser, log *slog.Logger, m *Metrics) *watchedStore {
	if log == nil {
		log = slog.Default()
	}
	return &watchedStore{st: st, leases: leases, log: log, metrics: m, timeout: storeCallTimeout, retry: storeRetryEvery}
}

// call runs f with a bounded context, unless the store is down and was tried within
// the retry interval.
func (w *watchedStore) call(ctx context.Context, f func(context.Context) error) error {
	now := time.Now()
	w.mu.Lock()
	if w.down && now.Sub(w.tried) < w.retry {
		err := w.lastErr
		w.mu.Unlock()
		return fmt.Errorf("%w (%v): retried every %v", errStoreDown, err, w.retry)
	}
	if w.down {
		w.tried = now
	}
	w.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	err := f(cctx)
	if err != nil && ctx.Err() != nil {
		return err // the caller left: says nothing of the store
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil && !w.down:
		w.down, w.since, w.tried, w.lastErr = true, now, now, err
		w.metrics.storeUp.Store(0)
		w.log.Error("store failed: answering what the history in memory answers, the rest 503 with Retry-After until it is back",
			"err", err.Error(), "hint", "check that the database named by --store runs and accepts this notary (for PostgreSQL: systemctl status postgresql, pg_isready); the notary reconnects by itself")
	case err != nil:
		w.lastErr = err
	case w.down:
		w.down = false
		w.metrics.storeUp.Store(1)
		w.log.Info("store reachable again", "down_for", time.Since(w.since).Round(time.Millisecond).String())
	}
	return err
}

func (w *watchedStore) Record(ctx context.Context, target string, at time.Time, seen []store.Sighting) error {
	return w.call(ctx, func(ctx context.Context) error { return w.st.Record(ctx, target, at, seen) })
}

func (w *watchedStore) History(ctx context.Context, target string) (h []store.Observation, err error) {
	err = w.call(ctx, func(ctx context.Context) error {
		h, err = w.st.History(ctx, target)
		return err
	})
	return h, err
}

func (w *watchedStore) TryLease(ctx context.Context, target, holder string, d time.Duration) (ok bool, probes int64, err error) {
	err = w.call(ctx, func(ctx context.Context) error {
		ok, probes, err = w.leases.TryLease(ctx, target, holder, d)
		return err
	})
	return ok, probes, err
}

func (w *watchedStore) ReleaseLease(ctx context.Context, target, holder string, probed bool) error {
	return w.call(ctx, func(ctx context.Context) error { return w.leases.ReleaseLease(ctx, target, holder, probed) })
}
