package core

import (
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// Status is the state of the proxy and its supports, for the tray and the Setup tab.
type Status struct {
	ProxyAddr string // host:port the proxy listens on; empty when it is not running
	PACURL    string // URL of the proxy auto-config file; empty when not served
	// ProxyErr says why the proxy is not running, in plain words; empty when it runs.
	ProxyErr string
	// KeyringFallback is set when secrets are kept in a file because no keyring answered.
	KeyringFallback bool
	Paused          bool
	// PausedUntil, while Paused, is when the pause ends by itself; zero: when the
	// user resumes.
	PausedUntil time.Time
	// SystemProxy is set while the desktop's proxy settings point at the proxy
	// ("Protect this computer"; a previous setting is kept in the store).
	SystemProxy bool
	// CAInstalled is set when the local CA went into (or was found in) at least one
	// trust store in this run; the per-store results (InstallCA) say which.
	CAInstalled bool
	// DiskFull is set while the store's writes fail because the disk is full: sites
	// are still checked, but new verdicts and history are not remembered. It clears
	// by itself at the first write that succeeds once space is freed.
	DiskFull bool
	// Browser is what the proxy saw of the browsers that came through it (the check
	// page, and clients that refused the local authority).
	Browser BrowserCheck
	// Portal is what the last captive-portal probe found.
	Portal PortalState
	// Allowances are the destinations let through unchecked for now.
	Allowances []verifier.Allowance
}

// Status returns the current state. It does not block on I/O.
func (c *Core) Status() Status {
	st := c.status()
	// The portal and the verifier have locks of their own, taken outside c.mu.
	st.Portal = c.PortalState()
	if c.Verifier != nil {
		st.Allowances = c.Verifier.Allowances()
	}
	return st
}

func (c *Core) status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{
		ProxyErr:        c.proxyErr,
		KeyringFallback: c.Fallback != nil,
		Paused:          c.Paused(),
		PausedUntil:     c.pause.endsAt(time.Now()),
		SystemProxy:     c.sys.on.Load(),
		CAInstalled:     c.caInstalled,
		DiskFull:        c.Store.DiskFull(),
		Browser:         c.browser,
	}
	if c.proxyErr == "" {
		st.ProxyAddr = c.Listen
		st.PACURL = "http://" + c.Listen + "/proxy.pac"
	}
	return st
}

// OnStatusChange registers fn to run when something Status reports changes without an
// event or a store change saying so (for now: DiskFull), e.g. for the tray to show it.
// fn runs on the goroutine that noticed and must return quickly.
func (c *Core) OnStatusChange(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statusListeners = append(c.statusListeners, fn)
}

// diskFullChanged runs when the store's DiskFull changes: it says so in the log, lets
// the history writer retry at once when space is back, and tells the listeners.
func (c *Core) diskFullChanged() {
	if c.Store.DiskFull() {
		c.log.Warn("the disk is full: Convergence cannot remember new verdicts or history until space is freed", "data_dir", c.DataDir)
	} else {
		c.log.Info("the disk has space again: new verdicts and history are saved again", "data_dir", c.DataDir)
		c.history.retryNow()
	}
	c.statusChanged()
}

// statusChanged tells the status listeners (OnStatusChange).
func (c *Core) statusChanged() {
	c.mu.Lock()
	ls := append([]func(){}, c.statusListeners...)
	c.mu.Unlock()
	for _, fn := range ls {
		fn()
	}
}

// CAPEM returns the local CA certificate in PEM.
func (c *Core) CAPEM() []byte { return c.CA().CertPEM() }
