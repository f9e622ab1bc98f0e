package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/sysproxy"
)

// Notice kinds, for the log and the tests.
const (
	NoticePauseEnded          = "pause-ended"
	NoticeSystemProxyOn       = "system-proxy-on"
	NoticeSystemProxyResumed  = "system-proxy-resumed"
	NoticeSystemProxyRestored = "system-proxy-restored"
	NoticeQuit                = "quit"
)

// leftoverAction is what a start does with a desktop setting that an earlier run set
// and did not put back (it crashed, or was killed).
type leftoverAction int

const (
	leftoverForget  leftoverAction = iota // the user changed it since: it is theirs now
	leftoverResume                        // keep it: this run's proxy serves where it points
	leftoverRestore                       // put back what was there before
	leftoverKeep                          // another Convergence serves there: its to put back
)

// decideLeftover decides what to do with a setting an earlier run made: stillHolds is
// whether the desktop still points where that run set it, sameAddr whether that is this
// run's proxy address, serving whether this run's proxy listens, answered whether a
// Convergence proxy answers there all the same (another run on this data dir, started
// headless beside this one: this run's port is taken by it). Pointing at a proxy that
// is not there would leave every site unreachable, so that is put back.
func decideLeftover(stillHolds, sameAddr, serving, answered bool) leftoverAction {
	switch {
	case !stillHolds:
		return leftoverForget
	case sameAddr && serving:
		return leftoverResume
	case answered && !serving:
		return leftoverKeep
	default:
		return leftoverRestore
	}
}

// pacAnswers reports whether a Convergence proxy serves its PAC file at addr: the file
// names addr as the proxy.
func pacAnswers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sysproxy.TargetFor(addr).PACURL(), nil)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return err == nil && resp.StatusCode == http.StatusOK && strings.Contains(string(body), "PROXY "+addr)
}

// RunSystemProxy is the start's part of "Protect this computer", in the process that
// runs the proxy: once Serve listens (or failed to), it settles what an earlier run
// left in the desktop's settings when it did not quit (resumed or put back, with a
// Notice saying which), or else points the settings at the proxy again when the user
// chose so. It returns when done, when ctx is done, or at Close (Close waits for it);
// run it on its own goroutine beside Serve.
func (c *Core) RunSystemProxy(ctx context.Context) {
	ctx, done, ok := c.background(ctx)
	if !ok {
		return
	}
	defer done()
	serving := c.waitServing(ctx)
	if ctx.Err() != nil {
		return
	}
	c.sys.mu.Lock()
	defer c.sys.mu.Unlock()
	if c.sys.quit {
		return
	}
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if n, ok := c.startSystemProxyLocked(opCtx, serving); ok {
		c.notice(n)
	}
}

func (c *Core) startSystemProxyLocked(ctx context.Context, serving bool) (Notice, bool) {
	if sysproxy.Supported() != nil {
		return Notice{}, false
	}
	saved, err := c.savedSystemProxy(ctx)
	if err != nil {
		c.log.Warn("failed to read the saved proxy settings", "err", err)
		return Notice{}, false
	}
	st, err := c.Store.Settings(ctx)
	if err != nil {
		c.log.Warn("failed to read the settings", "err", err)
		return Notice{}, false
	}
	if len(saved) == 0 {
		if !st.ProtectSystem || !serving {
			return Notice{}, false
		}
		rs, err := c.enableLocked(ctx)
		if err != nil {
			c.log.Warn("failed to point the desktop's proxy settings at Convergence", "err", err)
		}
		if names := desktops(rs, func(r SystemProxyResult) bool { return r.PointsAtUs }); names != "" {
			c.log.Info("protecting this computer: the desktop's proxy settings point at Convergence", "desktops", names)
		}
		return Notice{}, false
	}
	var resumed, restored []string
	var errs []error
	for _, m := range c.sys.mechs { // a row of a mechanism this build lacks is left for the one that made it
		id := m.ID()
		row, ok := saved[id]
		if !ok {
			continue
		}
		now, err := m.Current(ctx, sysproxy.TargetFor(row.Applied))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		answered := !serving && now.PointsAt && pacAnswers(ctx, row.Applied)
		switch decideLeftover(now.PointsAt, row.Applied == c.Listen, serving, answered) {
		case leftoverResume:
			resumed = append(resumed, m.Name())
			continue
		case leftoverKeep:
			c.log.Info("another Convergence serves where the desktop's proxy settings point; they are left to it", "desktop", m.Name(), "addr", row.Applied)
			continue
		case leftoverRestore:
			if err := m.Restore(ctx, row.Previous); err != nil {
				errs = append(errs, fmt.Errorf("failed to put back the proxy setting of %s: %w", m.Name(), err))
				continue
			}
			restored = append(restored, m.Name())
		}
		if err := c.Store.DeleteSystemProxy(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := c.savedSystemProxy(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		c.log.Warn("failed to settle the proxy settings the last run left", "err", err)
	}
	return leftoverNotice(resumed, restored, c.Status().ProxyErr), len(resumed)+len(restored) > 0
}

// leftoverNotice words what the start did with an earlier run's leftovers.
func leftoverNotice(resumed, restored []string, proxyErr string) Notice {
	const title = "Convergence was stopped without quitting"
	if len(restored) == 0 {
		return Notice{Kind: NoticeSystemProxyResumed, Title: "Convergence protects this computer again",
			Body: "It did not quit last time, so the proxy settings of " + join(resumed) + " still pointed at it: it checks their sites again. Quit puts them back."}
	}
	why := "they pointed at a proxy address it no longer uses"
	if proxyErr != "" {
		why = "its proxy could not start (" + proxyErr + ")"
	}
	return Notice{Kind: NoticeSystemProxyRestored, Title: title,
		Body: "Your proxy settings for " + join(restored) + " were put back as they were before, because " + why +
			": sites load directly, unchecked. Open Convergence and choose Protect this computer to protect it again."}
}

// QuitSystemProxy puts back the desktop's proxy settings as they were before Convergence
// changed them, at Quit (a headless run's SIGTERM is a Quit), and says so. The user's
// choice stays: the next start points them at the proxy again. Nothing changes them
// after it in this run.
//
// A run whose proxy never listened changes nothing: the settings it would put back
// may be another run's (a second headless start on the same data dir, whose port was
// taken by the first), and the start put back what pointed at no proxy.
func (c *Core) QuitSystemProxy(ctx context.Context) Notice {
	c.sys.mu.Lock()
	defer c.sys.mu.Unlock()
	c.sys.quit = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	const title = "Convergence has quit: protection is off"
	c.mu.Lock()
	listened := c.listening
	c.mu.Unlock()
	if !listened {
		return Notice{Kind: NoticeQuit, Title: title,
			Body: "Its proxy was not running, so it changed none of your proxy settings."}
	}
	rs, err := c.restoreLocked(ctx)
	if err != nil {
		return Notice{Kind: NoticeQuit, Title: "Convergence could not put back your proxy settings",
			Body: err.Error() + ". Until it runs again, sites may not load: open your desktop's network settings and choose no proxy (or the one you had)."}
	}
	if names := desktops(rs, func(r SystemProxyResult) bool { return r.Changed }); names != "" {
		return Notice{Kind: NoticeQuit, Title: title,
			Body: "Your proxy settings for " + names + " are back as they were: sites load directly, unchecked by your notaries. Start Convergence to protect this computer again."}
	}
	return Notice{Kind: NoticeQuit, Title: title,
		Body: "Sites are no longer checked by your notaries. A browser set by hand to use Convergence's proxy cannot load sites until Convergence runs again."}
}

// join joins names for a sentence: "GNOME", "GNOME and KDE", "GNOME, KDE and terminal programs".
func join(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := names[0]
	for _, n := range names[1 : len(names)-1] {
		out += ", " + n
	}
	return out + " and " + names[len(names)-1]
}
