package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// A captive portal (hotel, train, airport Wi-Fi) answers every connection with its
// sign-in page until the user signs in: the notaries are then unreachable, and every
// site blocked, for a reason that is neither an attack nor a dead network. When the
// notaries cannot be reached, the app probes a plain-HTTP URL whose answer it knows
// (settings.PortalProbeURL): a redirect, or another answer, is the portal.

// portalProbeTimeout bounds one probe; portalFresh is how long its result is reused.
const (
	portalProbeTimeout = 5 * time.Second
	portalFresh        = 30 * time.Second
)

// PortalState is what the last captive-portal probe found.
type PortalState struct {
	Checked time.Time // when the probe ran; zero when it never did
	// Portal is set when the network wants a sign-in first.
	Portal *localproxy.Portal
	// Err says why the probe got no answer (no network, DNS failure), in its words;
	// empty when it got one.
	Err string
}

// errNoProbe is returned when the probe is off (settings.PortalProbeURL empty).
var errNoProbe = errors.New("the captive-portal probe is off")

// probePortal fetches probeURL once, following no redirect, through dial (not
// through any proxy of the environment, which may be this app). A redirect is a
// portal at the redirect's target; a 200 with another body than
// settings.PortalProbeExpect, or another status, is a portal at the probe URL itself.
func probePortal(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), probeURL string) (*localproxy.Portal, error) {
	if probeURL == "" {
		return nil, errNoProbe
	}
	base, err := url.Parse(probeURL)
	if err != nil {
		return nil, fmt.Errorf("failed to parse portal probe URL %q: %w", probeURL, err)
	}
	tr := &http.Transport{Proxy: nil, DialContext: dial, DisableKeepAlives: true, ResponseHeaderTimeout: portalProbeTimeout}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: portalProbeTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probeURL, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to make portal probe %q: %w", probeURL, err)
	}
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to reach portal probe %q (no network?): %w", probeURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	signIn := base
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc, err := base.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Host == "" || (loc.Scheme != "http" && loc.Scheme != "https") {
			return nil, fmt.Errorf("failed to follow portal probe %q: redirect to %q", probeURL, resp.Header.Get("Location"))
		}
		signIn = loc
	case resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == settings.PortalProbeExpect:
		return nil, nil // no portal
	}
	host, err := protocol.NormalizeHost(signIn.Hostname())
	if err != nil {
		return nil, fmt.Errorf("failed to read portal host %q: %w", signIn.Hostname(), err)
	}
	return &localproxy.Portal{SignInURL: signIn.String(), Host: host}, nil
}

// portalProbe holds the last probe's result, and runs one probe at a time.
type portalProbe struct {
	busy atomic.Bool // a background probe is on its way (notePortalAfter)
	run  sync.Mutex  // held while a probe runs: one at a time
	mu   sync.Mutex  // protects state
	st   PortalState
}

// PortalState returns what the last captive-portal probe found.
func (c *Core) PortalState() PortalState {
	c.portal.mu.Lock()
	defer c.portal.mu.Unlock()
	return c.portal.st
}

// CheckPortal probes for a captive portal now unless the last probe is younger than
// 30 s, and returns what it found. When the finding changes, the status listeners
// are told (OnStatusChange).
func (c *Core) CheckPortal(ctx context.Context) PortalState {
	c.portal.run.Lock()
	defer c.portal.run.Unlock()
	prev := c.PortalState()
	if !prev.Checked.IsZero() && time.Since(prev.Checked) < portalFresh {
		return prev
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return prev
	}
	pctx, cancel := context.WithTimeout(ctx, portalProbeTimeout)
	defer cancel()
	portal, err := probePortal(pctx, c.dialOut, s.PortalProbeURL)
	st := PortalState{Checked: time.Now(), Portal: portal}
	if errors.Is(err, errNoProbe) {
		return PortalState{}
	}
	if err != nil {
		st.Err = err.Error()
	}
	c.portal.mu.Lock()
	c.portal.st = st
	c.portal.mu.Unlock()
	if (prev.Portal == nil) != (st.Portal == nil) || (st.Portal != nil && prev.Portal.Host != st.Portal.Host) {
		if st.Portal != nil {
			c.log.Warn("a captive portal is in the way: the network wants a sign-in before the notaries can be reached", "sign_in", st.Portal.SignInURL)
		}
		c.statusChanged()
	}
	return st
}

// portalFor is the block page's hook (localproxy.Pages.Portal).
func (c *Core) portalFor(ctx context.Context) (localproxy.Portal, bool) {
	st := c.CheckPortal(ctx)
	if st.Portal == nil {
		return localproxy.Portal{}, false
	}
	return *st.Portal, true
}
