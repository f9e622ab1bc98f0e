package core

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// When bundles are refreshed: the original client's rhythm (about daily, 24 h plus a
// random 0-12 h so that clients do not all ask a notary's site at once), with the first
// refresh a minute after start so a fresh start does not add to the start-up work.
const (
	bundleRefreshFirst  = time.Minute
	bundleRefreshEvery  = 24 * time.Hour
	bundleRefreshJitter = 12 * time.Hour
)

// bundleRefreshDelay is how long to wait before the first refresh (first set) and
// before every later one.
func bundleRefreshDelay(first bool) time.Duration {
	if first {
		return bundleRefreshFirst
	}
	return bundleRefreshEvery + rand.N(bundleRefreshJitter)
}

// RunBundleRefresh refreshes the notaries' bundles from their https locations
// (verifier.RefreshBundles) a minute after it starts, then every 24 h plus a random
// 0-12 h, logging one line per refresh with the counts and one per failure. It blocks
// until ctx is done or Close is called (Close waits for it to return); run it on its
// own goroutine. The waits run on the monotonic clock, so time a machine spends asleep
// does not count towards them.
func (c *Core) RunBundleRefresh(ctx context.Context) {
	ctx, done, ok := c.background(ctx)
	if !ok {
		return
	}
	defer done()

	delay := c.refreshDelay
	if delay == nil {
		delay = bundleRefreshDelay
	}
	timer := time.NewTimer(delay(true))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		c.refreshBundles(ctx)
		timer.Reset(delay(false))
	}
}

// refreshBundles runs one refresh and logs what it did.
func (c *Core) refreshBundles(ctx context.Context) {
	c.refreshDirectoriesLogged(ctx)
	report, err := c.Verifier.RefreshBundles(ctx)
	if ctx.Err() != nil {
		return // stopping: the failures say only that
	}
	if err != nil {
		c.log.Warn("failed to refresh notary bundles", "err", err)
		return
	}
	keys := 0
	for _, r := range report.Results {
		if r.KeysChanged {
			keys++
		}
	}
	c.log.Info("refreshed notary bundles", "updated", report.Count(verifier.RefreshUpdated),
		"unchanged", report.Count(verifier.RefreshUnchanged), "failed", report.Count(verifier.RefreshFailed),
		"keys_changed_not_applied", keys)
	for _, r := range report.Results {
		if r.Status == verifier.RefreshFailed {
			c.log.Warn("failed to refresh notary bundle", "notary", r.Notary, "location", r.Location, "err", r.Err)
		}
	}
}

// refreshDirectoriesLogged refreshes the notary directories (RefreshDirectories), with
// the bundles' rhythm, logging each failure; nothing configured is no failure.
func (c *Core) refreshDirectoriesLogged(ctx context.Context) {
	results, err := c.RefreshDirectories(ctx)
	if errors.Is(err, ErrNoDirectories) || ctx.Err() != nil {
		return
	}
	if err != nil {
		c.log.Warn("failed to refresh notary directories", "err", err)
	}
	for _, r := range results {
		if r.Err != nil {
			c.log.Warn("failed to refresh notary directory; the copy held is still used", "url", r.URL, "held", r.Copy.Held, "err", r.Err)
		}
	}
}
