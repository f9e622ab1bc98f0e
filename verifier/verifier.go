package verifier

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// Defaults for Config.
const (
	DefaultQueryTimeout    = 10 * time.Second
	DefaultRefreshInterval = 5 * time.Second
)

// Errors callers branch on.
var (
	// ErrNoCertificate means Verify was given an empty chain.
	ErrNoCertificate = errors.New("no certificate to verify")
	// ErrClosed means the verifier was closed.
	ErrClosed = errors.New("verifier is closed")
	// ErrPreviouslyRevoked means an imported bundle belongs to a notary the user
	// revoked; import again with ImportOptions.ConfirmRevoked to trust it again.
	ErrPreviouslyRevoked = errors.New("notary was revoked before")
)

// Config configures a Verifier. Store is required; the rest have defaults.
type Config struct {
	// Store holds settings, notaries, the verdict cache and pins (a *settings.Store).
	Store Store
	// OnEvent, when set, receives every event. It is called without any lock held,
	// from the goroutine that made the verdict; it should return quickly.
	OnEvent func(Event)
	// Dial, when set, opens connections to notaries and (for Check) to sites, e.g.
	// through an upstream proxy. Default: a direct net.Dialer.
	Dial DialFunc
	// QueryTimeout is each notary's deadline (connect, ask, read). Default 10 s.
	QueryTimeout time.Duration
	// MaxClockSkew is how far a v2 notary's clock may be from ours. Default 5 min.
	MaxClockSkew time.Duration
	// MemoryCacheSize bounds the in-memory verdict cache. Default 4096.
	MemoryCacheSize int
	// RefreshInterval is how often settings, notaries and pins are re-read from the
	// store (changes made by another process); Reload re-reads at once. Default 5 s.
	RefreshInterval time.Duration
	// Logger, when set, receives what the verifier cannot report through a verdict:
	// a verdict the store could not keep. Default: discarded.
	Logger *slog.Logger

	now         func() time.Time // test seam; nil is time.Now
	bundleRoots *x509.CertPool   // test seam: roots for bundle URLs; nil is the system's
}

// Verifier decides whether to trust certificates. Safe for concurrent use. Close it
// to end its background work.
type Verifier struct {
	cfg    Config
	store  Store
	client *client
	cache  *memCache
	now    func() time.Time

	ctx    context.Context    // ends when Close is called; owns every flight
	cancel context.CancelFunc // ends ctx
	runMu  sync.Mutex         // protects closed, and orders wg.Add before Close's wg.Wait
	closed bool
	wg     sync.WaitGroup // counts flights and notary queries still running

	flights singleflight.Group
	waiting atomic.Int64 // callers waiting on a flight (tests watch it)
	// ending holds the sites whose until-change pins are being removed (endChangedPins).
	ending sync.Map

	log *slog.Logger
	// cacheFailing is set while the store refuses verdicts (storeVerdict), so that a
	// run of failures is logged once, not per verdict.
	cacheFailing atomic.Bool

	mu   sync.Mutex // protects snap
	snap *snapshot
	// reloadMu serialises reloads so an old snapshot never replaces a newer one.
	reloadMu sync.Mutex
	// allowed holds the destinations let through unchecked for a while (allowance.go).
	allowed allowances

	factsMu sync.Mutex                 // protects facts
	facts   map[string]directory.Facts // SetNotaryFacts (groups.go)
}

// New returns a verifier reading its settings and notaries from cfg.Store.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("failed to create verifier: no store")
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	now := cfg.now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{
		log:    log,
		cfg:    cfg,
		store:  cfg.Store,
		client: &client{tr: newTransports(cfg.Dial), now: now, maxSkew: cfg.MaxClockSkew},
		cache:  newMemCache(cfg.MemoryCacheSize),
		now:    now,
	}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	if err := v.Reload(ctx); err != nil {
		v.cancel()
		return nil, fmt.Errorf("failed to create verifier: %w", err)
	}
	return v, nil
}

// Close cancels every check in flight, waits for their goroutines to end and closes
// idle notary connections. Verify fails with ErrClosed afterwards.
func (v *Verifier) Close() error {
	v.runMu.Lock()
	v.closed = true
	v.runMu.Unlock()
	v.cancel()
	v.wg.Wait()
	v.client.tr.closeIdle()
	return nil
}

// begin counts a goroutine that Close must wait for; false once closed.
func (v *Verifier) begin() bool {
	v.runMu.Lock()
	defer v.runMu.Unlock()
	if v.closed {
		return false
	}
	v.wg.Add(1)
	return true
}

// Reload re-reads settings, notaries and pins from the store now. When a notary left
// the ones asked since the last load (revoked, disabled or removed, e.g. by another
// process), the cached verdicts that needed its vote are purged; when the rule
// changed, every cached verdict is.
func (v *Verifier) Reload(ctx context.Context) error {
	_, err := v.reload(ctx)
	return err
}

// reload is Reload, returning how many cached verdicts it purged.
func (v *Verifier) reload(ctx context.Context) (int, error) {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	s, err := loadSnapshot(ctx, v.store, v.now())
	if err != nil {
		return 0, err
	}
	v.factsMu.Lock()
	s.setFacts(v.facts)
	v.factsMu.Unlock()
	v.mu.Lock()
	old := v.snap
	v.snap = s
	v.mu.Unlock()
	if old == nil {
		return 0, nil
	}
	if old.policy != s.policy {
		// A stricter rule must not be bypassed by verdicts made under the old one.
		return v.ClearCache(ctx)
	}
	if !notaryLeft(old, s) {
		return 0, nil
	}
	return v.purgeStale(ctx, s)
}

// notaryLeft reports whether a notary usable in old is not in cur: revoked, disabled,
// removed, or no longer usable.
func notaryLeft(old, cur *snapshot) bool {
	for _, o := range old.notaries {
		if !slices.ContainsFunc(cur.notaries, func(n notaryInfo) bool { return n.Name == o.Name }) {
			return true
		}
	}
	return false
}

// reloadIfStale reloads unless another caller did while this one waited for the lock.
func (v *Verifier) reloadIfStale(ctx context.Context) error {
	v.reloadMu.Lock()
	v.mu.Lock()
	fresh := v.now().Sub(v.snap.loaded) < v.cfg.RefreshInterval
	v.mu.Unlock()
	v.reloadMu.Unlock()
	if fresh {
		return nil
	}
	return v.Reload(ctx)
}

// snapshot returns the current snapshot, reloading it first when it is older than
// the refresh interval.
func (v *Verifier) snapshot(ctx context.Context) (*snapshot, error) {
	v.mu.Lock()
	s := v.snap
	v.mu.Unlock()
	if v.now().Sub(s.loaded) < v.cfg.RefreshInterval {
		return s, nil
	}
	if err := v.reloadIfStale(ctx); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.snap, nil
}

// Verify decides whether chain (leaf first) may be trusted for t. The order of checks
// is: the user's pins, exempt destinations (loopback unless that setting is off, private
// addresses when that one is on), the verdict cache, then the notaries. Concurrent calls for the
// same target and certificate share one check. A notary's failure is recorded in the
// verdict, never returned: the error is for an empty chain, a bad target, a failing
// store, a cancelled ctx or a closed verifier.
func (v *Verifier) Verify(ctx context.Context, t Target, chain []*x509.Certificate) (Verdict, error) {
	base, snap, err := v.prepareVerify(ctx, t, chain)
	if err != nil {
		return Verdict{}, err
	}
	if vd, ok := v.fromMemory(ctx, base, snap); ok {
		v.emitVerdict(vd)
		return vd, nil
	}
	return v.askShared(ctx, base, chain[0])
}

// Recheck reports whether chain is still trusted for t by what Verify would find
// before asking a notary: a pin, an exemption, a cached verdict that still meets the
// rule. It reports no event and asks no notary; false means only Verify can tell. The
// proxy calls it for every request on a connection it keeps open, so that a pin
// removed, a notary revoked or the cache cleared closes such connections.
func (v *Verifier) Recheck(ctx context.Context, t Target, chain []*x509.Certificate) bool {
	base, snap, err := v.prepareVerify(ctx, t, chain)
	if err != nil {
		return false
	}
	vd, ok := v.fromMemory(ctx, base, snap)
	return ok && vd.Allowed()
}

// prepareVerify checks Verify's arguments and returns the verdict's base (target
// normalised, fingerprint, time) and the snapshot to judge it under.
func (v *Verifier) prepareVerify(ctx context.Context, t Target, chain []*x509.Certificate) (Verdict, *snapshot, error) {
	if len(chain) == 0 || chain[0] == nil {
		return Verdict{}, nil, fmt.Errorf("failed to verify %q: %w", t.String(), ErrNoCertificate)
	}
	if v.ctx.Err() != nil {
		return Verdict{}, nil, fmt.Errorf("failed to verify %q: %w", t.String(), ErrClosed)
	}
	host, err := protocol.NormalizeHost(t.Host)
	if err != nil {
		return Verdict{}, nil, fmt.Errorf("failed to verify %q: %w", t.String(), err)
	}
	if err := protocol.CheckPort(t.Port); err != nil {
		return Verdict{}, nil, fmt.Errorf("failed to verify %q: %w", t.String(), err)
	}
	t.Host = host
	snap, err := v.snapshot(ctx)
	if err != nil {
		return Verdict{}, nil, fmt.Errorf("failed to verify %q: %w", t.String(), err)
	}
	return Verdict{Target: t, FingerprintSHA256: FingerprintSHA256(chain[0]), Time: v.now()}, snap, nil
}

// fromMemory is the part of a check that asks no notary, in Verify's order: the
// user's pins (those that ended left out; a site showing another certificate than an
// until-change pin's ends that pin), exempt destinations, the verdict cache.
func (v *Verifier) fromMemory(ctx context.Context, base Verdict, snap *snapshot) (Verdict, bool) {
	t, fp := base.Target, base.FingerprintSHA256
	pin, pinned := snap.pins[pinKey{t.Host, t.Port, fp}]
	if !pinned && snap.untilChange[siteKey{t.Host, t.Port}] {
		v.endChangedPins(t, fp) // the site changed its certificate: those pins end
	}
	if pinned && pin.Live(base.Time) {
		vd := base
		vd.Outcome, vd.Source, vd.Reason = OutcomeTrusted, SourcePin, pinReason(pin)
		return vd, true
	}
	if why, ok := exempt(t, exemptionsOf(snap.settings)); ok {
		vd := base
		vd.Outcome, vd.Source, vd.Reason = OutcomeTrusted, SourceExempt, why
		return vd, true
	}
	return v.lookupCache(ctx, base, snap)
}

// askShared asks the notaries once for all concurrent callers with the same target
// and certificate. The check runs under the verifier's context, not the caller's, so
// a caller giving up does not fail the others; it ends when every notary has answered
// or timed out (QueryTimeout), or at Close.
func (v *Verifier) askShared(ctx context.Context, base Verdict, leaf *x509.Certificate) (Verdict, error) {
	key := base.Target.String() + "|" + base.FingerprintSHA256
	ch := v.flights.DoChan(key, func() (any, error) {
		if !v.begin() {
			return Verdict{}, ErrClosed
		}
		defer v.wg.Done()
		return v.askNotaries(v.ctx, base, leaf)
	})
	v.waiting.Add(1)
	defer v.waiting.Add(-1)
	select {
	case r := <-ch:
		if r.Err != nil {
			return Verdict{}, fmt.Errorf("failed to verify %q: %w", base.Target.String(), r.Err)
		}
		return r.Val.(Verdict), nil
	case <-ctx.Done():
		return Verdict{}, fmt.Errorf("failed to verify %q: %w", base.Target.String(), ctx.Err())
	}
}
