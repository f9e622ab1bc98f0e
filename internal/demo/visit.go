package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/verifier"
)

// Visit is what happened when the demo's browser asked for one site through the proxy.
type Visit struct {
	Site string // host:port
	// WantTrusted is the outcome the demo is built to show for this site.
	WantTrusted bool
	// Verdict is the app's verdict on the site, from its events.
	Verdict verifier.Verdict
	// Status and Page are the browser's answer: the site's page (200) or the proxy's
	// block page (403, with localproxy.HeaderVerdict "rejected").
	Status  int
	Page    string
	Blocked bool // the answer was the proxy's block page
}

// OK reports whether the visit ended as the demo means it to: the honest site's page
// loaded, the attacked site blocked by the notaries' verdict.
func (v Visit) OK() bool {
	if v.WantTrusted {
		return v.Verdict.Outcome == verifier.OutcomeTrusted && v.Status == http.StatusOK && !v.Blocked
	}
	return v.Verdict.Outcome == verifier.OutcomeRejected && v.Blocked
}

// Watch records the app's verdicts for the demo's sites; call it before Visit.
type Watch struct {
	mu       sync.Mutex // protects verdicts
	verdicts map[string]verifier.Verdict
}

// NewWatch subscribes to c's events.
func NewWatch(c *core.Core) *Watch {
	w := &Watch{verdicts: map[string]verifier.Verdict{}}
	c.Subscribe(func(ev verifier.Event) {
		if ev.Kind != verifier.EventVerified && ev.Kind != verifier.EventRejected {
			return
		}
		w.mu.Lock()
		w.verdicts[ev.Verdict.Target.String()] = ev.Verdict
		w.mu.Unlock()
	})
	return w
}

func (w *Watch) verdict(site string) (verifier.Verdict, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.verdicts[site]
	return v, ok
}

// Visit asks for the honest site, then the attacked one, through the proxy at
// proxyAddr, as a browser that trusts the app's local CA (ca) would.
func (d *Demo) Visit(ctx context.Context, w *Watch, proxyAddr string, ca *x509.Certificate) ([]Visit, error) {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	tr := &http.Transport{
		Proxy:             http.ProxyURL(&url.URL{Scheme: "http", Host: proxyAddr}),
		TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var out []Visit
	for _, s := range []struct {
		site    string
		trusted bool
	}{{d.Honest, true}, {d.Attacked, false}} {
		v, err := visit(ctx, client, s.site)
		if err != nil {
			return out, err
		}
		v.WantTrusted = s.trusted
		vd, ok := w.verdict(s.site)
		if !ok {
			return out, fmt.Errorf("failed to visit %q: %w", s.site, errNoVerdict)
		}
		v.Verdict = vd
		out = append(out, v)
	}
	return out, nil
}

// errNoVerdict means the proxy answered without the app publishing a verdict.
var errNoVerdict = errors.New("the app published no verdict for it")

func visit(ctx context.Context, client *http.Client, site string) (Visit, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+site+"/", nil)
	if err != nil {
		return Visit{}, fmt.Errorf("failed to visit %q: %w", site, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Visit{}, fmt.Errorf("failed to visit %q: %w", site, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Visit{}, fmt.Errorf("failed to read %q: %w", site, err)
	}
	page := strings.TrimSpace(string(body))
	if first, _, ok := strings.Cut(page, "\n"); ok {
		page = first
	}
	return Visit{
		Site:    site,
		Status:  resp.StatusCode,
		Page:    page,
		Blocked: resp.Header.Get(localproxy.HeaderVerdict) == "rejected",
	}, nil
}
