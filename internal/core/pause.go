package core

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// Notice is something the app tells the user unasked: a pause ended, protection was
// resumed or put back after a crash, the app quit. The window shows it as a desktop
// notification, the headless app as a log line.
type Notice struct {
	Kind  string // what it is about: one of the Notice... constants
	Title string
	Body  string
}

// OnNotice registers fn to hear the notices. fn runs on the goroutine that made the
// notice and must return quickly.
func (c *Core) OnNotice(fn func(Notice)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noticeListeners = append(c.noticeListeners, fn)
}

func (c *Core) notice(n Notice) {
	c.mu.Lock()
	ls := append([]func(Notice){}, c.noticeListeners...)
	c.mu.Unlock()
	for _, fn := range ls {
		fn(n)
	}
}

// pauseState is the stored pause as the running parts apply it. Safe for concurrent use.
type pauseState struct {
	mu     sync.Mutex // protects paused, until
	paused bool
	until  time.Time
	wake   chan struct{} // a change, for RunPauseTimer; made on first use
}

// set takes the pause from the stored settings and wakes the pause timer.
func (p *pauseState) set(s settings.Settings) {
	p.mu.Lock()
	p.paused, p.until = s.Paused, s.PausedUntil
	wake := p.wakeLocked()
	p.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default: // a wake is pending already
	}
}

func (p *pauseState) wakeLocked() chan struct{} {
	if p.wake == nil {
		p.wake = make(chan struct{}, 1)
	}
	return p.wake
}

// at reports whether the pause holds at now (settings.Settings.PausedAt).
func (p *pauseState) at(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return settings.Settings{Paused: p.paused, PausedUntil: p.until}.PausedAt(now)
}

// endsAt is when the pause that holds at now ends; zero when it holds until the user
// resumes, or does not hold.
func (p *pauseState) endsAt(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !(settings.Settings{Paused: p.paused, PausedUntil: p.until}).PausedAt(now) {
		return time.Time{}
	}
	return p.until
}

// Pause pauses protection for d (the proxy passes sites through unchecked), or until
// the user resumes when d is 0. The running app resumes by itself at the end and says
// so (RunPauseTimer); the end is kept in the store, so the terminal and the window
// agree on it.
func (c *Core) Pause(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("failed to pause protection: the duration %s is negative", d)
	}
	var until time.Time
	if d > 0 {
		until = time.Now().Add(d).Truncate(time.Second)
	}
	_, err := c.UpdateSettings(ctx, func(s *settings.Settings) error {
		s.Paused, s.PausedUntil = true, until
		return nil
	})
	return err
}

// RunPauseTimer ends a pause with an end when its time comes: it resumes protection in
// the store (unless the pause was changed meanwhile) and says so with a Notice. It
// blocks until ctx is done or Close is called (Close waits for it); run it on its own
// goroutine, in the process that runs the proxy.
func (c *Core) RunPauseTimer(ctx context.Context) {
	ctx, done, ok := c.background(ctx)
	if !ok {
		return
	}
	defer done()
	c.pause.mu.Lock()
	wake := c.pause.wakeLocked()
	c.pause.mu.Unlock()
	for {
		c.pause.mu.Lock()
		paused, until := c.pause.paused, c.pause.until
		c.pause.mu.Unlock()
		var fire <-chan time.Time
		var t *time.Timer
		if paused && !until.IsZero() {
			t = time.NewTimer(time.Until(until))
			fire = t.C
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-fire:
			if !c.endPause(ctx, until) {
				// The store refused the write: the proxy checks sites all the same
				// (Paused looks at the time), so try again later, not at once.
				select {
				case <-ctx.Done():
				case <-time.After(30 * time.Second):
				}
			}
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// endPause resumes protection if the pause that ends at until is still the stored one;
// false when the store could not be changed.
func (c *Core) endPause(ctx context.Context, until time.Time) bool {
	ended := false
	_, err := c.UpdateSettings(ctx, func(s *settings.Settings) error {
		ended = s.Paused && s.PausedUntil.Equal(until)
		if ended {
			s.Paused, s.PausedUntil = false, time.Time{}
		}
		return nil
	})
	if err != nil {
		c.log.Warn("failed to record the end of the pause (sites are checked again all the same); retrying", "err", err)
		return false
	}
	if ended {
		c.notice(Notice{Kind: NoticePauseEnded, Title: "Convergence is protecting you again",
			Body: "The pause you asked for has ended (" + until.Local().Format("15:04") + "): sites are checked by your notaries again."})
	}
	return true
}
