package verifier

import (
	"context"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// *settings.Store is the store the app gives the verifier.
var _ Store = (*settings.Store)(nil)

// env is a verifier on a real SQLite store in a temp dir, with real notaries.
type env struct {
	t        testing.TB
	ctx      context.Context
	dir      string
	store    *settings.Store
	v        *Verifier
	real     *x509.Certificate // what the site really serves
	fake     *x509.Certificate // what an attacker would serve
	notaries map[string]*testNotary

	mu     sync.Mutex // protects events
	events []Event
}

func newEnv(t testing.TB, set func(*settings.Settings)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, dir: t.TempDir(), notaries: map[string]*testNotary{}}
	st, err := settings.Open(ctx, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	s := settings.Defaults()
	if set != nil {
		set(&s)
	}
	if err := st.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	_, e.real = newKeyCert(t, "site.example")
	_, e.fake = newKeyCert(t, "site.example")
	return e
}

// start makes the verifier with cfg (Store and OnEvent are filled in).
func (e *env) start(cfg Config) *Verifier {
	e.t.Helper()
	cfg.Store = e.store
	cfg.OnEvent = func(ev Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
	}
	v, err := New(e.ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { v.Close() })
	e.v = v
	return v
}

// add starts a notary that sees the real certificate (first seen 30 days ago) and
// imports its bundle through the verifier.
func (e *env) add(name string, mode notaryMode) *testNotary {
	e.t.Helper()
	return e.addSeeing(name, mode, e.real, time.Now().Add(-30*24*time.Hour))
}

func (e *env) addSeeing(name string, mode notaryMode, sees *x509.Certificate, from time.Time) *testNotary {
	e.t.Helper()
	n := startNotary(e.t, name, mode, sees, from)
	e.importNotary(n)
	return n
}

func (e *env) importNotary(n *testNotary) {
	e.t.Helper()
	e.notaries[n.name] = n
	if _, err := e.v.ImportBundle(e.ctx, n.bundleFile(e.dir), ImportOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) verify(c *x509.Certificate) Verdict {
	e.t.Helper()
	vd, err := e.v.Verify(e.ctx, Target{Host: "site.example", Port: 443}, []*x509.Certificate{c})
	if err != nil {
		e.t.Fatal(err)
	}
	return vd
}

func (e *env) eventKinds() map[EventKind]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[EventKind]int{}
	for _, ev := range e.events {
		out[ev.Kind]++
	}
	return out
}

func (e *env) totalRequests() int64 {
	var n int64
	for _, tn := range e.notaries {
		n += tn.requests.Load()
	}
	return n
}

func answerOf(t testing.TB, vd Verdict, name string) NotaryAnswer {
	t.Helper()
	for _, a := range vd.Answers {
		if a.Notary == name {
			return a
		}
	}
	t.Fatalf("no answer from %q in %+v", name, vd.Answers)
	return NotaryAnswer{}
}

func wantOutcome(t testing.TB, vd Verdict, want Outcome, src Source) {
	t.Helper()
	if vd.Outcome != want || vd.Source != src {
		t.Fatalf("verdict %v from %s (%s), want %v from %s; answers %+v", vd.Outcome, vd.Source, vd.Reason, want, src, vd.Answers)
	}
}
