// Package server is the notary: it answers "is this the certificate you see for that
// site?" over HTTPS in protocols v1 and v2, probing sites and recording what it saw.
package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/convergence-ng/convergence/notary/check"
	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/store"
)

// Errors Query returns; the HTTP layer maps them to status codes.
var (
	// ErrRefused: the policy forbids the target (403).
	ErrRefused = probe.ErrRefused
	// ErrStore: the store failed (503).
	ErrStore = errors.New("store failed")
	// ErrBusy: no probe slot became free before the request ended (503).
	ErrBusy = errors.New("too many probes in progress")
)

// Config sets up a Notary.
type Config struct {
	Store  store.Store   // required
	Prober *probe.Prober // required
	// Window is the freshness window: a certificate counts as seen only if seen within
	// it (default 1h).
	Window time.Duration
	// Checks are the checks run besides the network perspective, always run:
	// protocol.CheckCA and/or protocol.CheckDANE.
	Checks []string
	// Deciding names the checks that decide the status (default: network only).
	Deciding []string
	// DANE is the TLSA lookup; nil gives "no opinion" (no validating resolver).
	DANE *check.DANE
	// MaxProbes bounds concurrent probes (default 32).
	MaxProbes int
}

// Notary decides answers. It is safe for concurrent use; probes run under a context
// detached from the asking request and end within the prober's Budget.
type Notary struct {
	cfg   Config
	group singleflight.Group
	sem   *semaphore.Weighted
	roots *x509.CertPool   // nil: system roots; tests set their own
	now   func() time.Time // test seam for the clock
	probe func(context.Context, string, int, string) (probe.Result, error)
}

// New returns a Notary.
func New(cfg Config) *Notary {
	if cfg.Window <= 0 {
		cfg.Window = time.Hour
	}
	if len(cfg.Deciding) == 0 {
		cfg.Deciding = []string{protocol.CheckNetwork}
	}
	if cfg.MaxProbes <= 0 {
		cfg.MaxProbes = 32
	}
	n := &Notary{cfg: cfg, sem: semaphore.NewWeighted(int64(cfg.MaxProbes)), now: time.Now}
	n.probe = cfg.Prober.Probe
	return n
}

// Question is what a client asks: a target and optionally a fingerprint (SHA-256 for v2,
// SHA-1 for v1; at most one set).
type Question struct {
	Host   string // canonical (protocol.NormalizeHost)
	Port   int
	SHA256 string
	SHA1   string
}

func (q Question) asked() bool { return q.SHA256 != "" || q.SHA1 != "" }

func (q Question) target() string { return net.JoinHostPort(q.Host, strconv.Itoa(q.Port)) }

func (q Question) matches(o store.Observation) bool {
	return (q.SHA256 != "" && o.SHA256 == q.SHA256) || (q.SHA1 != "" && o.SHA1 == q.SHA1)
}

// Answer is the notary's decision for one question.
type Answer struct {
	Time     time.Time
	History  []store.Observation // newest last seen first
	Checks   []protocol.V2Check
	Status   protocol.Status
	Probed   bool  // a probe ran (or was joined) for this answer
	ProbeErr error // why the probe failed, if it did
}

// Query answers q: from the store when the asked certificate (or, with no fingerprint,
// any certificate) was seen within the freshness window, else after one probe shared
// with every concurrent query for the same target.
func (n *Notary) Query(ctx context.Context, q Question) (Answer, error) {
	pol := n.cfg.Prober.Policy()
	if err := pol.CheckPort(q.Port); err != nil {
		return Answer{}, err
	}
	if ip, err := netip.ParseAddr(q.Host); err == nil {
		if err := pol.CheckAddr(ip); err != nil {
			return Answer{}, err
		}
	}
	hist, err := n.cfg.Store.History(ctx, q.target())
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	a := Answer{Time: n.now(), History: hist}
	if n.needsProbe(q, hist, a.Time) {
		a.Probed = true
		a.ProbeErr = n.sharedProbe(ctx, q)
		if errors.Is(a.ProbeErr, ErrRefused) {
			return Answer{}, a.ProbeErr
		}
		if errors.Is(a.ProbeErr, ErrStore) {
			return Answer{}, a.ProbeErr
		}
		if ctx.Err() != nil {
			return Answer{}, ctx.Err()
		}
		if a.History, err = n.cfg.Store.History(ctx, q.target()); err != nil {
			return Answer{}, fmt.Errorf("%w: %w", ErrStore, err)
		}
		a.Time = n.now()
	}
	a.Checks = n.runChecks(ctx, q, a)
	a.Status = protocol.OverallStatus(a.Checks, q.asked())
	return a, nil
}

func (n *Notary) fresh(o store.Observation, now time.Time) bool {
	return !o.LastSeen.Before(now.Add(-n.cfg.Window))
}

func (n *Notary) needsProbe(q Question, hist []store.Observation, now time.Time) bool {
	for _, o := range hist {
		if n.fresh(o, now) && (!q.asked() || q.matches(o)) {
			return false
		}
	}
	return true
}

// sharedProbe runs one probe per target at a time: concurrent callers join the running
// one. The probe itself runs under a context detached from any caller (one client
// leaving must not fail the others) and bounded by the prober's budget; a caller stops
// waiting when its own context ends.
func (n *Notary) sharedProbe(ctx context.Context, q Question) error {
	want := q.SHA256
	if want == "" {
		want = q.SHA1
	}
	ch := n.group.DoChan(q.target(), func() (any, error) {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.Prober.Budget())
		defer cancel()
		if err := n.sem.Acquire(pctx, 1); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBusy, err)
		}
		defer n.sem.Release(1)
		res, err := n.probe(pctx, q.Host, q.Port, want)
		if err != nil {
			return nil, err
		}
		return nil, n.record(pctx, q, res)
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// record stores what a probe saw, with the CA validation of each chain.
func (n *Notary) record(ctx context.Context, q Question, res probe.Result) error {
	at := n.now()
	var seen []store.Sighting
	have := map[string]int{}
	for _, s := range res.Seen {
		leaf := s.Chain[0]
		ok, why := check.VerifyChain(s.Chain, q.Host, n.roots, at)
		fp := protocol.SHA256Fingerprint(leaf.Raw)
		if i, dup := have[fp]; dup {
			// Seen on several addresses: valid if any chain validated.
			if ok && !seen[i].CAValid {
				seen[i].CAValid, seen[i].CADetail = true, ""
			}
			continue
		}
		have[fp] = len(seen)
		seen = append(seen, store.Sighting{SHA256: fp, SHA1: protocol.SHA1Fingerprint(leaf.Raw), DER: leaf.Raw, CAValid: ok, CADetail: why})
	}
	if err := n.cfg.Store.Record(ctx, q.target(), at, seen); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	return nil
}
