package verifier

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

func infos(names ...string) []notaryInfo {
	out := make([]notaryInfo, len(names))
	for i, n := range names {
		out[i] = notaryInfo{Name: n}
	}
	return out
}

func namesOf(ns []notaryInfo) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	slices.Sort(out)
	return out
}

// TestPickNotariesStablePerSite: a site's subset depends only on the site, the
// notaries and the install's key; not on the order the notaries come in, nor on how
// often it is drawn. Adding a notary changes a site's subset only by taking it in.
func TestPickNotariesStablePerSite(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	five := infos("a", "b", "c", "d", "e")
	counts := map[string]int{}
	for i := range 600 {
		site := Target{Host: fmt.Sprintf("site%d.example", i), Port: 443}
		first := namesOf(pickNotaries(five, 2, key, site))
		if len(first) != 2 {
			t.Fatalf("%s: picked %v, want 2", site, first)
		}
		rev := slices.Clone(five)
		slices.Reverse(rev)
		for range 3 {
			if again := namesOf(pickNotaries(rev, 2, key, site)); !slices.Equal(again, first) {
				t.Fatalf("%s: drew %v, then %v", site, first, again)
			}
		}
		six := append(slices.Clone(five), notaryInfo{Name: "f"})
		if after := namesOf(pickNotaries(six, 2, key, site)); !slices.Equal(after, first) && !slices.Contains(after, "f") {
			t.Fatalf("%s: adding f moved the subset from %v to %v", site, first, after)
		}
		for _, n := range first {
			counts[n]++
		}
	}
	// 1200 picks over 5 notaries: 240 each expected; a notary never or always picked
	// would mean the hash does not spread.
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if counts[n] < 150 || counts[n] > 330 {
			t.Errorf("notary %s picked %d times of 1200: %v", n, counts[n], counts)
		}
	}
	// Another install's key draws other subsets for some sites.
	other := bytes.Repeat([]byte{8}, 32)
	differ := 0
	for i := range 50 {
		site := Target{Host: fmt.Sprintf("site%d.example", i), Port: 443}
		if !slices.Equal(namesOf(pickNotaries(five, 2, key, site)), namesOf(pickNotaries(five, 2, other, site))) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("two installs' keys drew the same subsets for 50 sites")
	}
	if got := pickNotaries(five, 0, key, Target{Host: "x", Port: 1}); len(got) != 5 {
		t.Errorf("max 0 picked %d, want all", len(got))
	}
}

// TestSubsetSurvivesRetriesAndRestarts: with one notary asked per site, a liar among
// three is either the site's notary every time or never; retrying, and a new verifier
// on the same store (a restart), draw the same notary.
func TestSubsetSurvivesRetriesAndRestarts(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.MaxNotaries = 1; s.CacheTTL = 0 })
	e.start(Config{})
	e.add("a", modeHonest)
	e.add("b", modeHonest)
	e.addSeeing("liar", modeHonest, e.fake, time.Now().Add(-30*24*time.Hour))
	first := e.verify(e.fake)
	if len(first.Answers) != 1 {
		t.Fatalf("asked %d notaries, want 1", len(first.Answers))
	}
	for i := range 12 {
		if i == 6 {
			e.v.Close()
			e.start(Config{})
		}
		vd := e.verify(e.fake)
		if vd.Answers[0].Notary != first.Answers[0].Notary || vd.Outcome != first.Outcome {
			t.Fatalf("check %d asked %s (%v); the first asked %s (%v)", i+2, vd.Answers[0].Notary, vd.Outcome, first.Answers[0].Notary, first.Outcome)
		}
	}
}

// TestDisableAndRemovePurgeCachedVouching: under "one" a liar's vouch is cached;
// disabling it drops the verdict (and enabling it again does not bring it back), and
// so does removing it. A verdict that did not need it stays.
func TestDisableAndRemovePurgeCachedVouching(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.Threshold = settings.ThresholdOne })
	e.start(Config{})
	e.add("honest", modeHonest)
	e.addSeeing("liar", modeHonest, e.fake, time.Now().Add(-30*24*time.Hour))
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourceNotaries)
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourceCache)
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries) // the honest notary's word

	n, err := e.v.SetEnabled(e.ctx, "liar", false)
	if err != nil || n != 1 {
		t.Fatalf("SetEnabled(liar, false) = %d, %v; want the verdict it vouched for dropped", n, err)
	}
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceCache)
	if _, err := e.v.SetEnabled(e.ctx, "liar", true); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourceNotaries) // asked anew, not from the cache
	if n, err := e.v.Remove(e.ctx, "liar"); err != nil || n != 1 {
		t.Fatalf("Remove(liar) = %d, %v; want the verdict it vouched for dropped", n, err)
	}
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)
	if ns, _ := e.v.ListNotaries(e.ctx); len(ns) != 1 {
		t.Errorf("notaries after Remove: %+v", ns)
	}
}

// TestDisabledElsewhereNeverVouchesFromTheStore: a notary disabled by another process
// (the store changed behind the verifier's back, then the verifier restarted) does not
// vouch from the verdicts kept in SQLite: they are recounted at lookup.
func TestDisabledElsewhereNeverVouchesFromTheStore(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.Threshold = settings.ThresholdOne })
	e.start(Config{})
	e.add("honest", modeHonest)
	e.addSeeing("liar", modeHonest, e.fake, time.Now().Add(-30*24*time.Hour))
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourceNotaries)
	e.v.Close()
	if err := e.store.SetNotaryEnabled(e.ctx, "liar", false); err != nil {
		t.Fatal(err)
	}
	e.start(Config{})
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)
}

// TestBusyNotaryIsNoVote: a notary that answers 429 or 503 (rate limit, overload) in
// either protocol is unreachable, and the verdict says it was busy.
func TestBusyNotaryIsNoVote(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		for _, v1 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d v1=%v", status, v1), func(t *testing.T) {
				e := newEnv(t, func(s *settings.Settings) { s.CacheTTL = 0 })
				e.start(Config{})
				e.add("honest", modeHonest)
				e.addFault("busy", func(n *testNotary, w http.ResponseWriter, r *http.Request) {
					if v1 && !strings.HasPrefix(r.URL.Path, protocol.V1PathPrefix) {
						http.NotFound(w, r) // not a v2 notary: the client falls back to v1
						return
					}
					http.Error(w, "slow down", status)
				})
				vd := e.verify(e.real)
				a := answerOf(t, vd, "busy")
				if a.Kind != AnswerUnreachable || !strings.Contains(a.Err, "busy") {
					t.Fatalf("busy notary: %s %q, want unreachable saying it was busy", a.Kind, a.Err)
				}
				if vd.Allowed() || !vd.Undecided {
					t.Errorf("1 vouch of 2 asked, 1 busy: allowed %v, undecided %v (%s); want undecided, blocked", vd.Allowed(), vd.Undecided, vd.Reason)
				}
			})
		}
	}
}

// TestReusedNameDoesNotInheritCachedVouches: a verdict that outlived a removed notary
// (the others still carried it) keeps the removed notary's name among its vouchers; a
// new notary imported under that name must not count as having vouched.
func TestReusedNameDoesNotInheritCachedVouches(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.Threshold = settings.ThresholdAll })
	e.start(Config{})
	e.add("a", modeHonest)
	e.add("b", modeHonest)
	e.add("x", modeHonest)
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	if _, err := e.v.Remove(e.ctx, "x"); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceCache) // a and b: all of the 2 asked
	// Another notary, another key, the same name; it is down, so it cannot vouch now.
	impostor := startNotary(t, "x", modeHonest, e.real, time.Now().Add(-30*24*time.Hour))
	e.importNotary(impostor)
	impostor.srv.Close()
	vd := e.verify(e.real)
	if vd.Source == SourceCache || vd.Allowed() {
		t.Fatalf("verdict %v from %s (%s): the new x inherited the old x's cached vouch", vd.Outcome, vd.Source, vd.Reason)
	}
}
