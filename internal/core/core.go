// Package core assembles the parts of the desktop app that do not draw anything: the
// store, the secrets, the verifier, the local CA and the proxy. main wires it to the UI.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/sysproxy"
	"github.com/convergence-ng/convergence/truststore"
	"github.com/convergence-ng/convergence/verifier"
)

// Options say where the app keeps its data and how it listens.
type Options struct {
	DataDir string       // resolved data dir (settings.DataDir)
	Listen  string       // overrides the stored ListenAddr when not empty
	Logger  *slog.Logger // nil discards
	// NoCA opens everything but the local CA and the proxy: for commands that must
	// work when the CA cannot be loaded (ca regenerate) or do not need it.
	NoCA bool
	// Secrets keeps the local CA's private key; nil opens the system keyring, or the
	// file fallback when no keyring answers (settings.OpenSecrets).
	Secrets settings.Secrets
	// TrustHome is the home directory whose browsers' NSS databases InstallCA uses;
	// empty is the user's. TrustOnly limits InstallCA to these kinds of store; nil is
	// every kind (truststore.Options).
	TrustHome string
	TrustOnly []truststore.Kind
	// DialSites, when set, is how the proxy reaches the sites it intercepts or tunnels
	// (localproxy.Config.DialContext); nil dials them directly. 'convergence demo' uses
	// it to put an impostor on one site's path, as an attacker on the client's network
	// would.
	DialSites func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Core holds the running parts. Its methods are safe for concurrent use.
type Core struct {
	Store    *settings.Store
	Recovery settings.Recovery  // what OpenOrRecover did with a broken database
	Secrets  settings.Secrets   // the keyring, or files when Fallback is set
	Fallback *settings.Fallback // non-nil when the keyring did not work
	Verifier *verifier.Verifier
	Proxy    *localproxy.Proxy
	DataDir  string
	Listen   string // the proxy's loopback address

	log         *slog.Logger
	pause       pauseState // the stored pause, applied (pause.go)
	certs       certMemory
	passthrough passthroughSet    // the sites verified without reading (passthrough.go)
	trustHome   string            // Options.TrustHome
	trustOnly   []truststore.Kind // Options.TrustOnly

	mu        sync.Mutex // protects ca, listeners, changeListeners, statusListeners, noticeListeners, closed, proxyErr, listening, caInstalled; orders bg.Add before Close's bg.Wait
	ca        *localproxy.CA
	listeners []func(verifier.Event)
	// changeListeners run after a change made to the store elsewhere was applied.
	changeListeners []func()
	// statusListeners run when Status changes without an event (OnStatusChange).
	statusListeners []func()
	closed          bool
	proxyErr        string       // why the proxy stopped, in plain words; empty while it serves
	listening       bool         // Serve listens (or did)
	caInstalled     bool         // the local CA went into a trust store in this run
	browser         BrowserCheck // what the proxy saw of the browsers (browsercheck.go)
	untrustedTold   time.Time    // when the listeners were last told of a refusal (noteCheck)
	// serving is closed once Serve has listened, or failed to (waitServing).
	serving     chan struct{}
	servingOnce sync.Once
	// noticeListeners hear what the app says unasked (OnNotice).
	noticeListeners []func(Notice)
	// sys serialises the changes to the desktop's proxy settings (sysproxy.go).
	sys sysProxyState

	portal  portalProbe                                                       // the captive-portal probe (portal.go)
	dialOut func(ctx context.Context, network, addr string) (net.Conn, error) // how the app reaches the network itself

	// closing ends when Close is called: it ends the background loops (RunBundleRefresh)
	// that Close then waits for through bg.
	closing     context.Context
	stopClosing context.CancelFunc
	bg          sync.WaitGroup
	// history writes the events publish keeps, off the verdict's path; Close ends it.
	history *historyWriter
	// refreshDelay is a test seam: how long RunBundleRefresh waits before its first
	// (first true) and every later refresh; nil is bundleRefreshDelay.
	refreshDelay func(first bool) time.Duration
}

// Open opens the store (moving a broken database aside), the secrets, the verifier and
// the local CA, and builds the proxy without starting it. Close releases them.
func Open(ctx context.Context, o Options) (*Core, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store, rec, err := settings.OpenOrRecover(ctx, o.DataDir)
	if err != nil {
		return nil, err
	}
	c := &Core{Store: store, Recovery: rec, DataDir: o.DataDir, log: log, trustHome: o.TrustHome, trustOnly: o.TrustOnly}
	c.closing, c.stopClosing = context.WithCancel(context.Background())
	c.sys.mechs = sysproxy.Mechanisms()
	c.history = startHistoryWriter(store, log)
	store.OnDiskFullChange(c.diskFullChanged)
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	st, err := store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	c.pause.set(st)
	if _, err := c.savedSystemProxy(ctx); err != nil {
		return nil, err
	}
	if err := c.loadPassthrough(ctx); err != nil {
		return nil, err
	}
	c.serving = make(chan struct{})
	c.Listen = st.ListenAddr
	if o.Listen != "" {
		c.Listen = o.Listen
	}
	secrets := o.Secrets
	if secrets == nil {
		secrets, c.Fallback = settings.OpenSecrets(o.DataDir)
	}
	if c.Secrets, err = scopeSecrets(secrets, o.DataDir); err != nil {
		return nil, err
	}
	var upstream *url.URL
	vcfg := verifier.Config{Store: store, OnEvent: c.publish, Logger: log}
	if st.UpstreamProxy != "" {
		if upstream, err = url.Parse(st.UpstreamProxy); err != nil {
			return nil, fmt.Errorf("failed to parse upstream proxy %q: %w", st.UpstreamProxy, err)
		}
		vcfg.Dial = localproxy.ProxyDialer(upstream)
	}
	c.dialOut = vcfg.Dial
	if c.dialOut == nil {
		c.dialOut = (&net.Dialer{Timeout: portalProbeTimeout}).DialContext
	}
	if c.Verifier, err = verifier.New(ctx, vcfg); err != nil {
		return nil, err
	}
	if err := c.syncFacts(ctx); err != nil { // directory.go: group the votes of notaries that are one
		log.Warn("failed to group the notaries' votes by what the directories say", "err", err)
	}
	if o.NoCA {
		ok = true
		return c, nil
	}
	if c.ca, err = localproxy.LoadOrCreateCA(o.DataDir, c.Secrets); err != nil {
		return nil, err
	}
	pcfg := localproxy.Config{
		Checker:       rememberingChecker{c.Verifier, &c.certs},
		CA:            c.ca,
		Addr:          c.Listen,
		Exempter:      c.Verifier,
		DialContext:   o.DialSites,
		Paused:        c.Paused,
		UpstreamProxy: upstream,
		Limits:        localproxy.Limits{IdleTimeout: st.ProxyIdleTimeout}, // 0: the proxy's default
		Logger:        log,
		Pages:         c.pages(),
		// Tunnels that are not TLS: the allow-list is read from the verifier's
		// settings in memory. The proxy's own verdicts (on such tunnels, and the
		// rejections it makes when no check could be made) become events like the
		// verifier's; the others the verifier has published already.
		CleartextAllowed: c.Verifier.CleartextAllowed,
		Passthrough:      c.passthrough.has,
		OnVerdict: func(v verifier.Verdict) {
			if v.Source != verifier.SourceCleartext && v.Source != verifier.SourceProxy {
				return // the verifier's own, which it has published
			}
			kind := verifier.EventRejected
			if v.Allowed() {
				kind = verifier.EventVerified
			}
			c.publish(verifier.Event{Kind: kind, Verdict: v, Time: v.Time})
		},
	}
	if c.Proxy, err = localproxy.New(pcfg); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// Close ends the background loops and waits for them, stops the verifier and closes
// the store.
func (c *Core) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stopClosing()
	c.bg.Wait()
	var errs []error
	if c.Verifier != nil {
		errs = append(errs, c.Verifier.Close())
	}
	if c.history != nil {
		c.history.close() // after the verifier, whose last checks may still report
	}
	if c.Store != nil {
		errs = append(errs, c.Store.Close())
	}
	return errors.Join(errs...)
}

// background starts one of the core's background loops: Close waits for it (done must
// be called when it returns), and its context ends with ctx or at Close. ok is false
// once Close was called: the loop must not start.
func (c *Core) background(ctx context.Context) (_ context.Context, done func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, false
	}
	c.bg.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.closing, cancel)
	return ctx, func() { stop(); cancel(); c.bg.Done() }, true
}

// Subscribe registers fn to receive every verifier event. fn is called on the
// verifier's goroutine and must return quickly.
func (c *Core) Subscribe(fn func(verifier.Event)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, fn)
}

// publish queues an event for the history and hands it to the listeners. It runs on
// the goroutine that made the verdict, before the client's handshake completes, so it
// never waits for the disk: the history writer writes the event later (historyWriter).
// Verdicts that came from the cache, pins or exemptions are not kept in the history:
// they say nothing new, would cost a disk write per connection, and would turn the
// history into a browsing log. Cleartext tunnels are, allowed or not: each went
// unchecked.
func (c *Core) publish(ev verifier.Event) {
	src := ev.Verdict.Source
	if ev.Kind != verifier.EventVerified || src == verifier.SourceNotaries || src == verifier.SourceCleartext {
		c.history.add(HistoryEvent(ev))
	}
	c.mu.Lock()
	ls := append([]func(verifier.Event){}, c.listeners...)
	c.mu.Unlock()
	for _, fn := range ls {
		fn(ev)
	}
	c.notePortalAfter(ev)
}

// CA returns the current local CA.
func (c *Core) CA() *localproxy.CA {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ca
}

// RegenerateCA replaces the local CA; every leaf minted by the old one stops working
// and the new certificate must be trusted again.
func (c *Core) RegenerateCA() (*localproxy.CA, error) {
	ca, err := localproxy.RegenerateCA(c.DataDir, c.Secrets)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.ca = ca
	c.mu.Unlock()
	if c.Proxy != nil {
		c.Proxy.SetCA(ca)
	}
	return ca, nil
}

// Paused reports whether protection is paused now (the proxy tunnels everything
// untouched): a pause whose end has come no longer holds.
func (c *Core) Paused() bool { return c.pause.at(time.Now()) }

// SetPaused pauses protection until the user resumes it, or resumes it, and remembers
// the choice (Pause pauses for a while).
func (c *Core) SetPaused(ctx context.Context, paused bool) error {
	_, err := c.UpdateSettings(ctx, func(s *settings.Settings) error {
		s.Paused, s.PausedUntil = paused, time.Time{}
		return nil
	})
	return err
}

// UpdateSettings changes some settings in one write transaction (a change made meanwhile
// by another face is kept, never undone) and applies the result: pausing at once, the
// verifier's rules from the next check. The listen address and upstream proxy apply at
// restart.
func (c *Core) UpdateSettings(ctx context.Context, change func(*settings.Settings) error) (settings.Settings, error) {
	s, err := c.Store.UpdateSettings(ctx, change)
	if err != nil {
		return settings.Settings{}, err
	}
	c.pause.set(s)
	return s, c.Verifier.Reload(ctx)
}

// Settings returns the stored settings.
func (c *Core) Settings(ctx context.Context) (settings.Settings, error) { return c.Store.Settings(ctx) }

// Serve runs the proxy on c.Listen until ctx is done (ListenProxy, then ServeOn).
// Why it stopped early, if it did, is kept for Status.
func (c *Core) Serve(ctx context.Context) error {
	ln, err := c.ListenProxy(ctx)
	if err != nil {
		return err
	}
	return c.ServeOn(ctx, ln)
}

// ListenProxy opens the proxy's listener on c.Listen, so that a caller can say where
// the proxy listens once it does (with port 0, on which port). ServeOn serves on it.
// A failure is kept for Status.
func (c *Core) ListenProxy(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.Listen)
	if err != nil {
		err = fmt.Errorf("failed to listen on %q: %w", c.Listen, err)
		c.keepProxyErr(err)
		c.servingOnce.Do(func() { close(c.serving) }) // it never will: waitServing
		return nil, err
	}
	c.mu.Lock()
	c.listening = true
	c.mu.Unlock()
	c.servingOnce.Do(func() { close(c.serving) }) // the proxy listens: waitServing
	return ln, nil
}

// ServeOn serves the proxy on ln (from ListenProxy) until ctx is done, and closes ln.
// Why it stopped early, if it did, is kept for Status.
func (c *Core) ServeOn(ctx context.Context, ln net.Listener) error {
	err := c.Proxy.Serve(ctx, ln)
	c.keepProxyErr(err)
	return err
}

// keepProxyErr keeps why the proxy stopped (nil: it did not fail) for Status.
func (c *Core) keepProxyErr(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	c.proxyErr = err.Error()
	c.mu.Unlock()
}

// waitServing waits until the proxy listens (true) or failed to (false), or ctx is
// done (ListenProxy says which).
func (c *Core) waitServing(ctx context.Context) bool {
	select {
	case <-c.serving:
	case <-ctx.Done():
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listening && c.proxyErr == ""
}
