package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/sysproxy"
)

// ErrNoDesktop means no desktop's proxy settings could be pointed at the proxy.
var ErrNoDesktop = errors.New("no desktop's proxy settings could be changed here")

// sysProxyState is the app's side of the desktop's proxy settings.
type sysProxyState struct {
	// mu serialises the changes (enable, disable, the start's recovery, quit), so
	// that one never runs into another: a start's resume after Quit put things back
	// would leave the desktop pointing at a proxy that is gone.
	mu   sync.Mutex
	quit bool        // Quit put the settings back; nothing may change them again (under mu)
	on   atomic.Bool // a previous setting is saved in the store (Status.SystemProxy)
	// mechs are the platform's mechanisms (sysproxy.Mechanisms); set by Open.
	mechs []sysproxy.Mechanism
}

// opTimeout bounds one change of the desktop's settings. Its context does not end with
// the caller's: a change cut in the middle (SIGTERM) would leave half of it.
const opTimeout = time.Minute

// SystemProxyResult is one desktop mechanism after an operation, or now (status).
type SystemProxyResult struct {
	Mechanism string // its id: "gnome", "kde", "environment"
	Desktop   string // which desktop or programs follow it: "GNOME", "KDE", "terminal programs"
	Available bool   // it can be used here; Describe says why not when false
	// PointsAtUs: it points at this app's proxy now.
	PointsAtUs bool
	Changed    bool   // this operation changed it
	Saved      bool   // what was there before is kept in the store, to put back
	Describe   string // what it holds now, or why it is not available, in plain words
	Err        string // why the operation failed for it; empty when it did not
}

func (c *Core) savedSystemProxy(ctx context.Context) (map[string]settings.SystemProxySaved, error) {
	rows, err := c.Store.SystemProxySaved(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]settings.SystemProxySaved{}
	for _, r := range rows {
		out[r.Mechanism] = r
	}
	c.sys.on.Store(len(rows) > 0)
	return out, nil
}

// EnableSystemProxy points every desktop mechanism found here at the proxy ("Protect
// this computer"), after saving in the store what each held, and remembers the choice:
// Quit puts them back, the next start points them at the proxy again. It reports each
// mechanism; an error (ErrNoDesktop) when none could be set.
func (c *Core) EnableSystemProxy(ctx context.Context) ([]SystemProxyResult, error) {
	c.sys.mu.Lock()
	defer c.sys.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	rs, err := c.enableLocked(ctx)
	if err != nil {
		return rs, err
	}
	if _, err := c.UpdateSettings(ctx, func(s *settings.Settings) error { s.ProtectSystem = true; return nil }); err != nil {
		return rs, err
	}
	return rs, nil
}

func (c *Core) enableLocked(ctx context.Context) ([]SystemProxyResult, error) {
	if err := sysproxy.Supported(); err != nil {
		return nil, fmt.Errorf("failed to set the system proxy: %w", err)
	}
	saved, err := c.savedSystemProxy(ctx)
	if err != nil {
		return nil, err
	}
	t := sysproxy.TargetFor(c.Listen)
	var rs []SystemProxyResult
	set := false
	for _, m := range c.sys.mechs {
		r := SystemProxyResult{Mechanism: m.ID(), Desktop: m.Name()}
		row, hasRow := saved[m.ID()]
		r.Saved = hasRow
		err := func() error {
			if err := m.Available(ctx); err != nil {
				r.Describe = err.Error()
				return nil
			}
			r.Available = true
			st, err := m.Current(ctx, t)
			if err != nil {
				return err
			}
			if st.PointsAt {
				r.PointsAtUs, r.Describe = true, st.Describe
				if !hasRow {
					r.Describe += " (it was set so before Convergence changed it: it is left so at Quit)"
				}
				return nil
			}
			if hasRow {
				// Saved by a run at another address: keep what the user had, if the
				// desktop still holds what that run set; else the user changed it
				// since, and that is what to put back.
				old, err := m.Current(ctx, sysproxy.TargetFor(row.Applied))
				if err != nil {
					return err
				}
				if !old.PointsAt {
					if err := c.Store.DeleteSystemProxy(ctx, m.ID()); err != nil {
						return err
					}
				}
			}
			prev, err := m.Read(ctx)
			if err != nil {
				return err
			}
			made, err := c.Store.SaveSystemProxy(ctx, settings.SystemProxySaved{Mechanism: m.ID(), Previous: prev, Applied: c.Listen})
			if err != nil {
				return err // nothing changed: the previous setting must be safe first
			}
			r.Saved = true
			if err := m.Apply(ctx, t); err != nil {
				if made && m.Restore(ctx, prev) == nil {
					r.Saved = c.Store.DeleteSystemProxy(ctx, m.ID()) != nil
				}
				return err
			}
			r.PointsAtUs, r.Changed = true, true
			if st, err := m.Current(ctx, t); err == nil {
				r.Describe = st.Describe
			}
			return nil
		}()
		if err != nil {
			r.Err = err.Error()
		}
		set = set || r.PointsAtUs
		rs = append(rs, r)
	}
	if _, err := c.savedSystemProxy(ctx); err != nil {
		c.log.Warn("failed to read the saved proxy settings", "err", err)
	}
	if !set {
		return rs, fmt.Errorf("failed to set the system proxy: %w", ErrNoDesktop)
	}
	return rs, nil
}

// DisableSystemProxy puts back what each desktop mechanism held before
// EnableSystemProxy, exactly, and forgets the choice. A mechanism the user changed
// since is left as it is. It reports the mechanisms it had changed.
func (c *Core) DisableSystemProxy(ctx context.Context) ([]SystemProxyResult, error) {
	c.sys.mu.Lock()
	defer c.sys.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	rs, err := c.restoreLocked(ctx)
	if _, uerr := c.UpdateSettings(ctx, func(s *settings.Settings) error { s.ProtectSystem = false; return nil }); uerr != nil {
		err = errors.Join(err, uerr)
	}
	return rs, err
}

// restoreLocked puts back every saved setting whose mechanism still holds what the app
// set, forgets the others (the user changed them since), and reports each. A
// mechanism that could not be put back keeps its saved row, to try again.
func (c *Core) restoreLocked(ctx context.Context) ([]SystemProxyResult, error) {
	saved, err := c.savedSystemProxy(ctx)
	if err != nil {
		return nil, err
	}
	var rs []SystemProxyResult
	var errs []error
	for _, m := range c.sys.mechs {
		row, ok := saved[m.ID()]
		if !ok {
			continue
		}
		r := SystemProxyResult{Mechanism: m.ID(), Desktop: m.Name(), Available: true, Saved: true}
		err := func() error {
			st, err := m.Current(ctx, sysproxy.TargetFor(row.Applied))
			if err != nil {
				return err
			}
			if st.PointsAt {
				if err := m.Restore(ctx, row.Previous); err != nil {
					return err
				}
				r.Changed = true
			}
			if err := c.Store.DeleteSystemProxy(ctx, m.ID()); err != nil {
				return err
			}
			r.Saved = false
			now, err := m.Current(ctx, sysproxy.TargetFor(c.Listen))
			if err != nil {
				return err
			}
			r.PointsAtUs, r.Describe = now.PointsAt, now.Describe
			if !r.Changed {
				r.Describe = "changed since Convergence set it, so left as it is: " + now.Describe
			}
			return nil
		}()
		if err != nil {
			r.Err = err.Error()
			errs = append(errs, fmt.Errorf("failed to put back the proxy setting of %s: %w", m.Name(), err))
		}
		rs = append(rs, r)
	}
	if _, err := c.savedSystemProxy(ctx); err != nil {
		errs = append(errs, err)
	}
	return rs, errors.Join(errs...)
}

// SystemProxyStatus reports, for each desktop mechanism, whether it points at the
// proxy now and whether what was there before is saved.
func (c *Core) SystemProxyStatus(ctx context.Context) ([]SystemProxyResult, error) {
	if err := sysproxy.Supported(); err != nil {
		return nil, fmt.Errorf("failed to read the system proxy: %w", err)
	}
	saved, err := c.savedSystemProxy(ctx)
	if err != nil {
		return nil, err
	}
	t := sysproxy.TargetFor(c.Listen)
	var rs []SystemProxyResult
	for _, m := range c.sys.mechs {
		_, hasRow := saved[m.ID()]
		r := SystemProxyResult{Mechanism: m.ID(), Desktop: m.Name(), Saved: hasRow}
		if err := m.Available(ctx); err != nil {
			r.Describe = err.Error()
		} else if st, err := m.Current(ctx, t); err != nil {
			r.Available, r.Err = true, err.Error()
		} else {
			r.Available, r.PointsAtUs, r.Describe = true, st.PointsAt, st.Describe
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// desktops names the mechanisms of rs that match keep, joined for a sentence.
func desktops(rs []SystemProxyResult, keep func(SystemProxyResult) bool) string {
	var names []string
	for _, r := range rs {
		if keep(r) {
			names = append(names, r.Desktop)
		}
	}
	return join(names)
}
