package verifier

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

func TestVerifyHonestNotaries(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{})
	for _, n := range []string{"alpha", "beta", "gamma"} {
		e.add(n, modeHonest)
	}
	vd := e.verify(e.real)
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	if vd.FingerprintSHA256 != FingerprintSHA256(e.real) {
		t.Errorf("fingerprint %q, want the leaf's", vd.FingerprintSHA256)
	}
	// Majority may settle before the third answer; every heard answer is an agreement in v2.
	for _, a := range vd.Answers {
		if a.Kind != AnswerAgree && a.Kind != AnswerNotAsked {
			t.Errorf("answer %+v, want agree", a)
		}
		if a.Kind == AnswerAgree && (a.Protocol != 2 || a.AgreedSince.IsZero() || len(a.Seen) != 1) {
			t.Errorf("agreement %+v: want protocol 2 with the sighting", a)
		}
	}
	if vd.Asked != 3 || vd.Agreed < 2 {
		t.Errorf("asked %d agreed %d, want 3 and at least 2", vd.Asked, vd.Agreed)
	}

	bad := e.verify(e.fake)
	wantOutcome(t, bad, OutcomeRejected, SourceNotaries)
	if !bad.Disagreement() {
		t.Errorf("rejection of the attacker's certificate shows no disagreement: %+v", bad.Answers)
	}
	ev := e.eventKinds()
	if ev[EventVerified] != 1 || ev[EventRejected] != 1 || ev[EventDisagree] != 1 {
		t.Errorf("events %v, want one verified, one rejected, one disagree", ev)
	}
}

// TestThresholdsWithLyingNotary runs every threshold against two honest notaries and
// one that lies (it vouches for the attacker's certificate and against the real one).
func TestThresholdsWithLyingNotary(t *testing.T) {
	cases := []struct {
		name       string
		set        func(*settings.Settings)
		realOK     bool
		fakeOK     bool
		fakeAgreed int
	}{
		{"majority", func(s *settings.Settings) { s.Threshold = settings.ThresholdMajority }, true, false, 1},
		{"all", func(s *settings.Settings) { s.Threshold = settings.ThresholdAll }, false, false, 1},
		{"one", func(s *settings.Settings) { s.Threshold = settings.ThresholdOne }, true, true, 1},
		{"2-of-n", func(s *settings.Settings) { s.Threshold, s.ThresholdK = settings.ThresholdKOfN, 2 }, true, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(s *settings.Settings) { c.set(s); s.CacheTTL = 0 })
			e.start(Config{})
			e.add("honest1", modeHonest)
			e.add("honest2", modeHonest)
			e.addSeeing("liar", modeHonest, e.fake, time.Now().Add(-30*24*time.Hour))
			if got := e.verify(e.real).Allowed(); got != c.realOK {
				t.Errorf("real certificate allowed = %v, want %v", got, c.realOK)
			}
			fake := e.verify(e.fake)
			if got := fake.Allowed(); got != c.fakeOK {
				t.Errorf("attacker's certificate allowed = %v, want %v (%s)", got, c.fakeOK, fake.Reason)
			}
			if c.fakeOK && answerOf(t, fake, "liar").Kind != AnswerAgree {
				t.Errorf("the liar's vouch was not the reason: %+v", fake.Answers)
			}
		})
	}
}

// TestFailingNotariesNeverVouch puts one honest notary beside each kind of failing
// one: the failure must be recorded as unauthentic, invalid or unreachable, never as a
// yes. The rule (a majority of the two asked) then lacks a vote: an unauthentic answer
// counts against (rejected, and an impersonation alert names the notary); the others
// leave the verdict undecided, or count against when the setting says so.
func TestFailingNotariesNeverVouch(t *testing.T) {
	cases := []struct {
		name string
		mode notaryMode
		want AnswerKind
		err  string
	}{
		{"garbage", modeGarbage, AnswerInvalid, "malformed"},
		{"wrong signature", modeWrongSig, AnswerUnauthentic, "signature"},
		{"wrong pinned certificate", modeWrongPin, AnswerUnauthentic, "pinned"},
		{"huge body", modeHuge, AnswerInvalid, "too large"},
		{"slow drip", modeSlowDrip, AnswerUnreachable, "in time"},
		{"skewed clock", modeSkewed, AnswerInvalid, "clock"},
		{"bad nonce", modeBadNonce, AnswerUnauthentic, "nonce"},
		{"batch: wrong path", modeBatchWrongPath, AnswerUnauthentic, "signature"},
		{"batch: another leaf's path", modeBatchOtherLeaf, AnswerUnauthentic, "signature"},
		{"batch: another root's signature", modeBatchOtherRoot, AnswerUnauthentic, "signature"},
		{"batch: another request's answer", modeBatchNotOwn, AnswerUnauthentic, "nonce"},
		{"batch: root signature as the answer's", modeBatchAsPlain, AnswerUnauthentic, "signature"},
		{"down", modeHonest, AnswerUnreachable, "refused"},
	}
	for _, c := range cases {
		for _, against := range []bool{false, true} {
			name := c.name
			if against {
				name += "/counts against"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, func(s *settings.Settings) { s.UnreachableCountsAgainst = against; s.CacheTTL = 0 })
				// Long enough for the honest notary on a loaded machine (-race, parallel packages);
				// the slow drip still fails by it.
				e.start(Config{QueryTimeout: 5 * time.Second})
				e.add("honest", modeHonest)
				bad := e.add("bad", c.mode)
				if c.name == "down" {
					bad.srv.Close()
				}
				vd := e.verify(e.real)
				a := answerOf(t, vd, "bad")
				if a.Kind != c.want || !strings.Contains(a.Err, c.err) {
					t.Fatalf("bad notary's answer %s %q, want %s containing %q", a.Kind, a.Err, c.want, c.err)
				}
				// Once the bad answer is in, a majority of 2 is out of reach: the verdict
				// may be settled before the honest notary's vouch arrives.
				if vd.Allowed() || vd.Asked != 2 || vd.Agreed > 1 {
					t.Fatalf("allowed = %v with %d of %d vouching, want rejected: 1 of 2 is no majority (%s)", vd.Allowed(), vd.Agreed, vd.Asked, vd.Reason)
				}
				wantUndecided := c.want != AnswerUnauthentic && !against
				if vd.Undecided != wantUndecided {
					t.Errorf("undecided = %v, want %v (%s)", vd.Undecided, wantUndecided, vd.Reason)
				}
				kinds := e.eventKinds()
				if c.want == AnswerUnauthentic {
					if kinds[EventNotaryImpersonated] != 1 || kinds[EventNotaryUnreachable] != 0 || !strings.Contains(vd.Reason, "impersonating") {
						t.Errorf("events %v, reason %q; want one notary-impersonated event and the reason to say so", kinds, vd.Reason)
					}
				} else if kinds[EventNotaryUnreachable] != 1 || kinds[EventNotaryImpersonated] != 0 {
					t.Errorf("events %v, want one notary-unreachable", kinds)
				}
				// The failing notary alone never lets the attacker's certificate through.
				if fake := e.verify(e.fake); fake.Allowed() {
					t.Fatalf("attacker's certificate allowed: %+v", fake)
				}
			})
		}
	}
}

func TestNoAnswerPolicy(t *testing.T) {
	for _, allow := range []bool{false, true} {
		e := newEnv(t, func(s *settings.Settings) {
			s.CacheTTL = 0
			if allow {
				s.NoAnswerPolicy = settings.NoAnswerAllowWarn
			}
		})
		e.start(Config{QueryTimeout: 2 * time.Second})
		down := e.add("down", modeHonest)
		down.srv.Close()
		e.add("blind", modeUnreachSite)
		vd := e.verify(e.real)
		if vd.Allowed() != allow || (vd.Warning != "") != allow {
			t.Errorf("allow-warn=%v: allowed %v warning %q (%s)", allow, vd.Allowed(), vd.Warning, vd.Reason)
		}
		if !vd.Undecided {
			t.Errorf("allow-warn=%v: not undecided (%s)", allow, vd.Reason)
		}
		// Under "block" the verdict is settled once "down" fails (no answer of "blind"
		// could make a majority of 2), so "blind" may not have been waited for.
		if k := answerOf(t, vd, "blind").Kind; k != AnswerNoOpinion && (allow || k != AnswerNotAsked) {
			t.Errorf("notary that cannot reach the site answered %s, want no-opinion", k)
		}
	}
}

func TestProtocolV1Fallback(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.Threshold = settings.ThresholdAll; s.CacheTTL = 0 })
	e.start(Config{})
	old := e.add("original", modeV1Only)
	e.importNotary(newRSANotary(t, "rsa", e.real, time.Now().Add(-48*time.Hour)))
	vd := e.verify(e.real)
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	for _, name := range []string{"original", "rsa"} {
		a := answerOf(t, vd, name)
		if a.Kind != AnswerAgree || a.Protocol != 1 || len(a.Seen) != 1 || a.Seen[0].FingerprintSHA256 != vd.FingerprintSHA256 {
			t.Errorf("%s: %+v, want a v1 agreement with the sighting", name, a)
		}
	}
	if old.requests.Load() != 2 {
		t.Errorf("the original notary got %d requests, want 2 (v2, then v1)", old.requests.Load())
	}
	// Threshold all: the first v1 disagreement settles it.
	bad := e.verify(e.fake)
	if bad.Allowed() {
		t.Fatalf("attacker's certificate allowed: %+v", bad)
	}
	for _, a := range bad.Answers {
		if a.Kind != AnswerDisagree && a.Kind != AnswerNotAsked || a.Kind == AnswerDisagree && a.Protocol != 1 {
			t.Errorf("answer %+v, want a v1 disagreement or not asked", a)
		}
	}
}

func TestMinAgreeAge(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.MinAgreeAge = 24 * time.Hour; s.CacheTTL = 0 })
	e.start(Config{})
	e.add("old", modeHonest)
	e.addSeeing("new1", modeHonest, e.real, time.Now().Add(-time.Hour))
	e.addSeeing("new2", modeHonest, e.real, time.Now().Add(-time.Hour))
	vd := e.verify(e.real)
	if vd.Allowed() {
		t.Fatalf("allowed with only one notary having seen the key for a day: %s", vd.Reason)
	}
	if !strings.Contains(vd.Reason, "less than") {
		t.Errorf("reason %q does not name the age rule", vd.Reason)
	}
}

// TestEarlyDecision hangs one notary for good: the verdict comes from the two others,
// and Verify returns while the hung notary's handler is still blocked.
func TestEarlyDecision(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{QueryTimeout: 30 * time.Second})
	e.add("a", modeHonest)
	e.add("b", modeHonest)
	hung := e.add("hung", modeHung)
	vd := e.verify(e.real)
	if hung.answered.Load() != 0 {
		t.Fatal("the hung notary answered")
	}
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	if a := answerOf(t, vd, "hung"); a.Kind != AnswerNotAsked {
		t.Errorf("hung notary's answer %s, want not-asked", a.Kind)
	}
	if vd.Agreed != 2 || vd.Asked != 3 {
		t.Errorf("agreed %d asked %d, want 2 and 3", vd.Agreed, vd.Asked)
	}
	// The query to the hung notary goes on in the background (a late answer may still
	// reveal a disagreement) until Close cancels it.
	select {
	case <-hung.entered:
	case <-e.ctx.Done():
		t.Fatal("the hung notary was never asked")
	}
	if err := e.v.Close(); err != nil {
		t.Fatal(err)
	}
	if hung.answered.Load() != 0 {
		t.Fatal("the hung notary answered")
	}
}

func TestSingleFlight(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.CacheTTL = 0; s.Threshold = settings.ThresholdAll })
	e.start(Config{})
	gate := e.add("gate", modeHung)
	e.add("b", modeHonest)
	e.add("c", modeHonest)
	e.add("d", modeHonest)
	const callers = 8
	results := make(chan Verdict, callers)
	for range callers {
		go func() {
			vd, err := e.v.Verify(e.ctx, Target{Host: "site.example", Port: 443}, []*x509.Certificate{e.real})
			if err != nil {
				t.Error(err)
			}
			results <- vd
		}()
	}
	// All callers wait on one check, held open by the gate notary (threshold all: the
	// gate's answer is needed) until every caller has joined.
	for e.v.waiting.Load() < callers {
		select {
		case <-e.ctx.Done():
			t.Fatalf("only %d callers joined", e.v.waiting.Load())
		case <-time.After(time.Millisecond):
		}
	}
	gate.releaseAll()
	for range callers {
		if vd := <-results; !vd.Allowed() {
			t.Errorf("verdict %+v", vd)
		}
	}
	if n := gate.requests.Load(); n != 1 {
		t.Errorf("the gate notary was asked %d times, want once", n)
	}
}

// TestRaceNotaryHosts gives one notary two physical hosts, the first down: the answer
// comes from the second.
func TestRaceNotaryHosts(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{})
	up := startNotary(t, "multi", modeHonest, e.real, time.Now().Add(-48*time.Hour))
	down := startNotaryWithKey(t, "multi-down", modeHonest, e.real, time.Now(), up.key, up.cert)
	downPort := down.port()
	down.srv.Close()
	b, err := protocol.MarshalBundle(protocol.Bundle{Version: 1, Name: "multi", Hosts: []protocol.BundleHost{
		{Host: "127.0.0.1", SSLPort: downPort, CertificatePEM: certPEM(up.cert)},
		{Host: "127.0.0.1", SSLPort: up.port(), CertificatePEM: certPEM(up.cert)},
	}, V2: &protocol.BundleV2{Protocols: []int{1, 2}, KeyType: "ecdsa-p256"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, "multi.notary")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.ImportBundle(e.ctx, path, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	vd := e.verify(e.real)
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	if a := answerOf(t, vd, "multi"); a.Host != net.JoinHostPort("127.0.0.1", strconv.Itoa(up.port())) {
		t.Errorf("answer from %q, want the live host", a.Host)
	}
}

// TestLateDisagreementReported: the verdict is settled by two honest notaries before
// the third answers; when the third then says it sees another certificate, the user
// still hears that the notaries disagree (a notary's network may be hijacked).
func TestLateDisagreementReported(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{QueryTimeout: 30 * time.Second})
	e.add("a", modeHonest)
	e.add("b", modeHonest)
	_, other := newKeyCert(t, "site.example")
	late := e.addSeeing("late", modeHung, other, time.Now().Add(-time.Hour))
	vd := e.verify(e.real)
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	if vd.Disagreement() || e.eventKinds()[EventDisagree] != 0 {
		t.Fatal("disagreement reported before the late notary answered")
	}
	late.releaseAll()
	for e.eventKinds()[EventDisagree] == 0 {
		select {
		case <-e.ctx.Done():
			t.Fatal("no disagreement event after the late notary answered")
		case <-time.After(5 * time.Millisecond):
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.events {
		if ev.Kind != EventDisagree {
			continue
		}
		if a := answerOfList(ev.Verdict.Answers, "late"); a.Kind != AnswerDisagree {
			t.Errorf("late notary's answer in the event: %s, want disagree", a.Kind)
		}
		if ev.Verdict.Agreed != 2 || !ev.Verdict.Allowed() {
			t.Errorf("event verdict: agreed %d, allowed %v; want 2 and the verdict unchanged", ev.Verdict.Agreed, ev.Verdict.Allowed())
		}
	}
}

func answerOfList(as []NotaryAnswer, name string) NotaryAnswer {
	for _, a := range as {
		if a.Notary == name {
			return a
		}
	}
	return NotaryAnswer{}
}
