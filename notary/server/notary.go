// Package server is the notary: it answers "is this the certificate you see for that
// site?" over HTTPS in protocols v1 and v2, probing sites and recording what it saw.
package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	Store  Store         // required
	Prober *probe.Prober // required
	// Leases, when set, makes single-flight hold across every process sharing the
	// store (a fleet): one of them probes a target, the others wait for its record.
	// Nil: probes are shared within this process only.
	Leases Leaser
	// LeaseFor is how long a probe lease lasts unrenewed: its holder renews it every
	// third of that while it probes, so it bounds how long a member that died mid-probe
	// holds up the others, not how long a probe may take (default 10s).
	LeaseFor time.Duration
	// LeasePoll is how often a member waiting for another's probe looks for its record
	// (default 50ms).
	LeasePoll time.Duration
	// Holder names this process in the leases (default host, pid and a random part).
	Holder string
	// Metrics counts what the notary does (default: new, empty ones).
	Metrics *Metrics
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
	// CacheTargets bounds the targets whose history is kept in memory in front of the
	// store (default 10,000); CacheTTL is how long a history read from the store is used
	// before it is read again (default 1s; it bounds how late this process sees what
	// another process sharing the store recorded).
	CacheTargets int
	CacheTTL     time.Duration
	// Logger says when the store goes down and comes back (default slog.Default()).
	Logger *slog.Logger
}

// Notary decides answers. It is safe for concurrent use; probes run under a context
// detached from the asking request and end within the prober's Budget.
type Notary struct {
	cfg   Config
	hist  *historyCache
	group singleflight.Group
	sem   *semaphore.Weighted
	roots *x509.CertPool   // nil: system roots; tests set their own
	now   func() time.Time // test seam for the clock
	probe func(context.Context, string, int, string) (probe.Result, error)
	// metrics is cfg.Metrics.
	metrics *Metrics
}

// Metrics returns the notary's metrics.
func (n *Notary) Metrics() *Metrics { return n.metrics }

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
	if cfg.LeaseFor <= 0 {
		cfg.LeaseFor = 10 * time.Second
	}
	if cfg.LeasePoll <= 0 {
		cfg.LeasePoll = 50 * time.Millisecond
	}
	if cfg.Holder == "" {
		cfg.Holder = defaultHolder()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.CacheTargets <= 0 {
		cfg.CacheTargets = defaultCacheTargets
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = defaultCacheTTL
	}
	// Every store call is bounded and watched (storehealth.go).
	ws := newWatchedStore(cfg.Store, cfg.Leases, cfg.Logger, cfg.Metrics)
	cfg.Store = ws
	if cfg.Leases != nil {
		cfg.Leases = ws
	}
	n := &Notary{cfg: cfg, sem: semaphore.NewWeighted(int64(cfg.MaxProbes)), now: time.Now, metrics: cfg.Metrics}
	n.hist = newHistoryCache(cfg.Store, cfg.CacheTargets, cfg.CacheTTL, func() time.Time { return n.now() })
	n.hist.stale = func(error) {
		n.metrics.StoreError("history")
		n.metrics.CacheHit("stale")
	}
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
	view     *view // History and what is built on it alone (signed v1 body, prepared v2)

	askedDetail string // the network check's detail for the asked observation
}

// Query answers q: from the store when the asked certificate (or, with no fingerprint,
// any certificate) was seen within the freshness window, else after one probe shared
// with every concurrent query for the same target.
func (n *Notary) Query(ctx context.Context, q Question) (Answer, error) {
	pol := n.cfg.Prober.Policy()
	if err := pol.CheckPort(q.Port); err != nil {
		return Answer{}, err
	}
	if ip, ok := protocol.HostAddr(q.Host); ok {
		if err := pol.CheckAddr(ip); err != nil {
			return Answer{}, err
		}
	}
	v, err := n.view(ctx, q.target(), false)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Time: n.now(), History: v.hist, view: v}
	if n.needsProbe(q, v.hist, a.Time) {
		// The history in memory may predate what another process sharing the store
		// recorded: read the store before probing.
		if v, err = n.view(ctx, q.target(), true); err != nil {
			return Answer{}, err
		}
		a = Answer{Time: n.now(), History: v.hist, view: v}
	}
	if !n.needsProbe(q, v.hist, a.Time) {
		n.metrics.CacheHit("history")
	} else {
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
		// Read the store, not memory: the probe may have been another process's.
		if v, err = n.view(ctx, q.target(), true); err != nil {
			return Answer{}, err
		}
		a.History, a.view = v.hist, v
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

// view returns target's history from memory (history.go), or read from the store
// when fromStore.
func (n *Notary) view(ctx context.Context, target string, fromStore bool) (*view, error) {
	get := n.hist.get
	if fromStore {
		get = n.hist.reload
	}
	v, err := get(ctx, target)
	if err != nil {
		n.metrics.StoreError("history")
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return v, nil
}

// history reads target's history from the store.
func (n *Notary) history(ctx context.Context, target string) ([]store.Observation, error) {
	h, err := n.cfg.Store.History(ctx, target)
	if err != nil {
		n.metrics.StoreError("history")
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return h, nil
}

// sharedProbe runs one probe per target at a time: concurrent callers join the running
// one, and with Leases so do the other members of the fleet (fleet.go). The probe runs
// under a context detached from any caller (one client leaving must not fail the
// others), bounded by the lease and the prober's budget; a caller stops waiting when its
// own context ends.
func (n *Notary) sharedProbe(ctx context.Context, q Question) error {
	n.metrics.waiting.Add(1)
	defer n.metrics.waiting.Add(-1)
	led := false // written by the leader's function only, read after its result
	ch := n.group.DoChan(q.target(), func() (any, error) {
		led = true
		// Long enough to wait out another member's probe, its lease if it dies, and our own.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*n.cfg.Prober.Budget()+n.cfg.LeaseFor)
		defer cancel()
		return nil, n.fleetProbe(lctx, q)
	})
	select {
	case r := <-ch:
		if !led {
			n.metrics.joined("process")
		}
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// probeAndRecord probes q's target within the prober's budget and records what it saw.
func (n *Notary) probeAndRecord(ctx context.Context, q Question) error {
	want := q.SHA256
	if want == "" {
		want = q.SHA1
	}
	pctx, cancel := context.WithTimeout(ctx, n.cfg.Prober.Budget())
	defer cancel()
	if err := n.sem.Acquire(pctx, 1); err != nil {
		n.metrics.probed("busy", 0)
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	defer n.sem.Release(1)
	start := time.Now()
	res, err := n.probe(pctx, q.Host, q.Port, want)
	took := time.Since(start)
	switch {
	case errors.Is(err, ErrRefused):
		n.metrics.probed("refused", took)
		return err
	case err != nil:
		n.metrics.probed("unreachable", took)
		return err
	}
	if err := n.record(pctx, q, res); err != nil {
		n.metrics.probed("store_error", took)
		return err
	}
	n.metrics.probed("ok", took)
	return nil
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
	if err := n.hist.record(ctx, q.target(), at, seen); err != nil {
		n.metrics.StoreError("record")
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	return nil
}
