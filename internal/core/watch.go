package core

import (
	"context"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// OnStoreChange registers fn to run after a change to the store has been applied
// (see RunStoreWatch), e.g. for the window to show it. fn runs on the watcher's
// goroutine and must return quickly.
func (c *Core) OnStoreChange(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changeListeners = append(c.changeListeners, fn)
}

// RunStoreWatch applies what another process (the terminal, a second window) changes
// in the store while the app runs: settings, pause, notaries, pins and removals from
// the cache take effect within settings.DefaultWatchInterval. Without it the running
// proxy would keep acting on what it read at start: `convergence set paused off`
// would leave sites passing unchecked. It blocks until ctx is done or Close is called
// (Close waits for it); run it on its own goroutine.
func (c *Core) RunStoreWatch(ctx context.Context) {
	c.runWatch(ctx, settings.DefaultWatchInterval)
}

func (c *Core) runWatch(ctx context.Context, interval time.Duration) {
	ctx, done, ok := c.background(ctx)
	if !ok {
		return
	}
	defer done()

	failing := false // warn once per run of failures, not at every tick
	c.Store.WatchChanges(ctx, interval, func() error {
		if err := c.applyStore(ctx); err != nil {
			return err
		}
		failing = false
		c.mu.Lock()
		ls := append([]func(){}, c.changeListeners...)
		c.mu.Unlock()
		for _, fn := range ls {
			fn()
		}
		return nil
	}, func(err error) {
		if !failing {
			c.log.Warn("failed to apply a change made to the store by another process; retrying", "err", err)
		}
		failing = true
	})
}

// applyStore re-reads what the running parts hold in memory: the verifier's settings,
// notaries and pins (purging cached verdicts a change no longer allows, and dropping
// the memory cache, which a removal elsewhere may have outdated), the pause, and whether
// the desktop's proxy settings point at the proxy (Status.SystemProxy).
func (c *Core) applyStore(ctx context.Context) error {
	st, err := c.Store.Settings(ctx)
	if err != nil {
		return err
	}
	c.pause.set(st)
	if err := c.loadPassthrough(ctx); err != nil {
		return err
	}
	if _, err := c.savedSystemProxy(ctx); err != nil { // Status.SystemProxy, set by the terminal
		return err
	}
	if err := c.Verifier.Reload(ctx); err != nil {
		return err
	}
	if err := c.syncFacts(ctx); err != nil {
		return err
	}
	c.Verifier.ForgetMemoryCache()
	return nil
}
