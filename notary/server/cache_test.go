package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/store"
)

// v1Raw POSTs a v1 question and returns the code and the raw body.
func (e *env) v1Raw(port int, fp string) (int, []byte) {
	e.t.Helper()
	code, body, _ := e.do(http.MethodPost, protocol.V1Path("127.0.0.1", port), "application/x-www-form-urlencoded", url.Values{"fingerprint": {fp}}.Encode())
	return code, body
}

// The v1 body is signed once per history: asked twice, an ECDSA notary (whose
// signatures are randomised) sends the same bytes; a new observation gives a new
// body listing it; and the status code follows freshness while the body is the cached
// one (409 and 200 with the same bytes, for the same history).
func TestV1BodyCachedUntilHistoryChanges(t *testing.T) {
	a, b := testtarget.NewCert(t, "127.0.0.1"), testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", a)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	code, first := e.v1Raw(site.Port(), fp1(a))
	if code != http.StatusOK {
		t.Fatalf("first: %d %s", code, first)
	}
	e.verifyV1(code, first)
	if code, again := e.v1Raw(site.Port(), fp1(a)); code != http.StatusOK || !bytes.Equal(again, first) {
		t.Fatalf("asked again: %d, body changed though the history did not:\n%s\n%s", code, first, again)
	}

	// The site changes its certificate; past the window the notary probes again.
	site.SetCerts(b)
	e.clock.advance(2 * time.Hour)
	code, withB := e.v1Raw(site.Port(), fp1(b))
	if code != http.StatusOK || bytes.Equal(withB, first) {
		t.Fatalf("after the new observation: %d, body rebuilt: %v", code, !bytes.Equal(withB, first))
	}
	if ans := e.verifyV1(code, withB); !ans.Has(fp1(a)) || !ans.Has(fp1(b)) || len(ans.Fingerprints) != 2 {
		t.Fatalf("body lists %+v, want both certificates", ans.Fingerprints)
	}
	// A is no longer fresh: asking about it probes (sees B again) and answers 409.
	code, conflict := e.v1Raw(site.Port(), fp1(a))
	if code != http.StatusConflict {
		t.Fatalf("stale certificate: %d, want 409", code)
	}
	e.verifyV1(code, conflict)
	// B is fresh: 200 from memory, with exactly the body of the 409 (same history).
	if code, ok := e.v1Raw(site.Port(), fp1(b)); code != http.StatusOK || !bytes.Equal(ok, conflict) {
		t.Fatalf("fresh certificate: %d; same body as the 409: %v", code, bytes.Equal(ok, conflict))
	}
}

// A v2 answer is prepared once per history and outcome: a new observation appears in
// it, and each answer carries its own request's nonce and the time of the request.
func TestV2AnswerRebuiltWhenHistoryChanges(t *testing.T) {
	a, b := testtarget.NewCert(t, "127.0.0.1"), testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", a)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, keyType: "ed25519"})
	code, first := e.v2("127.0.0.1", site.Port(), fp256(a))
	if code != http.StatusOK || first.Status != protocol.StatusConfirmed || len(first.Observations) != 1 {
		t.Fatalf("first: %d %+v", code, first)
	}
	site.SetCerts(b)
	e.clock.advance(2 * time.Hour)
	code, second := e.v2("127.0.0.1", site.Port(), fp256(b))
	if code != http.StatusOK || second.Status != protocol.StatusConfirmed || len(second.Observations) != 2 || second.Observations[0].SHA256 != fp256(b) {
		t.Fatalf("after the new observation: %d %+v", code, second)
	}
	if second.Time < first.Time+int64((2*time.Hour).Seconds()) {
		t.Errorf("time %d is not the request's (first %d, clock moved 2h)", second.Time, first.Time)
	}
	// Asked about A now, the same history answers mismatch: another outcome, another
	// prepared answer.
	if code, third := e.v2("127.0.0.1", site.Port(), fp256(a)); code != http.StatusOK || third.Status != protocol.StatusMismatch {
		t.Fatalf("stale certificate: %d %+v", code, third)
	}
}

// Nonces are never reused: concurrent v2 questions about one target, each with its
// own nonce, each get an answer that verifies (Ed25519, with the client's code) and
// carries their nonce, none another's.
func TestV2NoncesNeverReused(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, keyType: "ed25519"})
	if code, a := e.v2("127.0.0.1", site.Port(), fp256(cert)); code != http.StatusOK || a.Signature.Alg != protocol.AlgEd25519 {
		t.Fatalf("priming: %d %+v", code, a)
	}
	var mu sync.Mutex // protects seen
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 10 {
				// e.v2 fails the test unless the answer verifies and Answers(req): its nonce.
				_, a := e.v2("127.0.0.1", site.Port(), fp256(cert))
				mu.Lock()
				if seen[a.Nonce] {
					t.Errorf("nonce %q answered twice", a.Nonce)
				}
				seen[a.Nonce] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 160 {
		t.Errorf("%d distinct nonces in 160 answers", len(seen))
	}
}

// countingStore counts the reads that reach the store and can fail them.
type countingStore struct {
	Store
	reads atomic.Int64
	fail  atomic.Bool
}

func (s *countingStore) History(ctx context.Context, target string) ([]store.Observation, error) {
	s.reads.Add(1)
	if s.fail.Load() {
		return nil, errors.New("store down")
	}
	return s.Store.History(ctx, target)
}

// The history cache: reads come from memory within the TTL; a write goes through and
// replaces the view; a view read before a write never replaces the one after it;
// the cache holds at most its bound.
func TestHistoryCache(t *testing.T) {
	ctx := context.Background()
	sq := openSQLite(t)
	st := &countingStore{Store: sq}
	var now atomic.Int64
	now.Store(time.Unix(1_800_000_000, 0).UnixNano())
	c := newHistoryCache(st, 3, time.Second, func() time.Time { return time.Unix(0, now.Load()) })
	at := time.Unix(1_800_000_000, 0)
	v, err := c.get(ctx, "a:443")
	if err != nil || len(v.hist) != 0 || st.reads.Load() != 1 {
		t.Fatalf("first read: %v %v reads %d", v, err, st.reads.Load())
	}
	if v2, _ := c.get(ctx, "a:443"); v2 != v || st.reads.Load() != 1 {
		t.Fatalf("within the TTL the store was read again (%d reads)", st.reads.Load())
	}
	if err := c.record(ctx, "a:443", at, []store.Sighting{{SHA256: "aa", SHA1: "AA", DER: []byte{1}}}); err != nil {
		t.Fatal(err)
	}
	v3, _ := c.get(ctx, "a:443")
	if len(v3.hist) != 1 || v3.hist[0].SHA256 != "aa" {
		t.Fatalf("after the write: %+v", v3.hist)
	}
	// Past the TTL the store is read again; an unchanged history keeps its view's parts.
	built := &v1Signed{body: []byte("x")}
	v3.v1.Store(built)
	now.Add(int64(2 * time.Second))
	reads := st.reads.Load()
	v4, _ := c.get(ctx, "a:443")
	if st.reads.Load() != reads+1 || v4.v1.Load() != built {
		t.Fatalf("after the TTL: reads %d→%d, built parts kept: %v", reads, st.reads.Load(), v4.v1.Load() == built)
	}
	// A read that started before a later install loses.
	c.mu.Lock()
	c.seq++
	old := c.seq
	c.mu.Unlock()
	if err := c.record(ctx, "a:443", at.Add(time.Minute), []store.Sighting{{SHA256: "aa", SHA1: "AA", DER: []byte{1}}}); err != nil {
		t.Fatal(err)
	}
	if got := c.install("a:443", old, v3.hist); !got.hist[0].LastSeen.Equal(at.Add(time.Minute)) {
		t.Fatalf("an older read replaced the newer view: last seen %v", got.hist[0].LastSeen)
	}
	// A failed read after a write forgets the target rather than keep the old view.
	st.fail.Store(true)
	if err := c.record(ctx, "a:443", at.Add(2*time.Minute), []store.Sighting{{SHA256: "aa", SHA1: "AA", DER: []byte{1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.get(ctx, "a:443"); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Fatalf("after a failed read-back the old view answered: %v", err)
	}
	st.fail.Store(false)
	for _, tg := range []string{"b:443", "c:443", "d:443", "e:443"} {
		if _, err := c.get(ctx, tg); err != nil {
			t.Fatal(err)
		}
	}
	if c.len() != 3 {
		t.Errorf("cache holds %d targets, bound 3", c.len())
	}
}

// heldStore reads the history, then holds the first read's result until released: a
// read that began before another fleet member's write and ends after it.
type heldStore struct {
	Store
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (s *heldStore) History(ctx context.Context, target string) ([]store.Observation, error) {
	h, err := s.Store.History(ctx, target)
	s.once.Do(func() {
		close(s.entered)
		<-s.release
	})
	return h, err
}

// A read of the store after another member's probe (reload) does not take the result
// of a read begun before that probe recorded: the fleet race in which a member's client
// got "unreachable" for a certificate the fleet had just seen (TestFleetSingleFlight,
// once under load). The member's own read, begun before the other's write, is in
// flight when the client that waited for the probe asks the store again.
func TestHistoryReloadBegunAfterCall(t *testing.T) {
	ctx := context.Background()
	sq := openSQLite(t)
	st := &heldStore{Store: sq, entered: make(chan struct{}), release: make(chan struct{})}
	c := newHistoryCache(st, 10, time.Second, time.Now)
	early := make(chan *view, 1)
	go func() { // ends when the held read is released
		v, _ := c.get(ctx, "a:443")
		early <- v
	}()
	<-st.entered
	// Another member records what its probe saw.
	if err := sq.Record(ctx, "a:443", time.Now(), []store.Sighting{{SHA256: "aa", SHA1: "AA", DER: []byte{1}}}); err != nil {
		t.Fatal(err)
	}
	late := make(chan *view, 1)
	go func() { // ends when reload returns
		v, err := c.reload(ctx, "a:443")
		if err != nil {
			t.Error(err)
		}
		late <- v
	}()
	// Release the held read only once reload waits on the single flight (its frame is
	// on a stack next to get's): then it can only have joined the held read.
	deadline := time.Now().Add(10 * time.Second)
	for waitingInFetch() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("reload never reached the read in flight")
		}
		time.Sleep(time.Millisecond)
	}
	close(st.release)
	if v := <-early; len(v.hist) != 0 {
		t.Fatalf("the held read began before the write, yet saw %d observations", len(v.hist))
	}
	if v := <-late; v == nil || len(v.hist) != 1 || v.hist[0].SHA256 != "aa" {
		n := -1
		if v != nil {
			n = len(v.hist)
		}
		t.Fatalf("reload answered with %d observations, want the 1 recorded: it took a read begun before it", n)
	}
}

// waitingInFetch counts the goroutines inside historyCache.fetch (not its read).
func waitingInFetch() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*historyCache).fetch(")
}

// openSQLite opens a store in a SQLite file in a temp dir, closed when t ends.
func openSQLite(t *testing.T) *store.SQLite {
	t.Helper()
	sq, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	return sq
}
