package verifier

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

func TestGroupAnswers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := func(n string, k AnswerKind) NotaryAnswer { return NotaryAnswer{Notary: n, Kind: k} }
	groups := map[string]string{"a": "a", "b": "a", "c": "c"}
	for _, tc := range []struct {
		name string
		in   []NotaryAnswer
		want []AnswerKind
	}{
		{"both agree", []NotaryAnswer{a("a", AnswerAgree), a("b", AnswerAgree), a("c", AnswerAgree)}, []AnswerKind{AnswerAgree, AnswerAgree}},
		{"one disagrees", []NotaryAnswer{a("a", AnswerAgree), a("b", AnswerDisagree), a("c", AnswerAgree)}, []AnswerKind{AnswerDisagree, AnswerAgree}},
		{"one unreachable", []NotaryAnswer{a("a", AnswerUnreachable), a("b", AnswerAgree)}, []AnswerKind{AnswerAgree}},
		{"impostor wins", []NotaryAnswer{a("a", AnswerDisagree), a("b", AnswerUnauthentic)}, []AnswerKind{AnswerUnauthentic}},
		{"nobody", []NotaryAnswer{a("a", AnswerNotAsked), a("b", AnswerUnreachable)}, []AnswerKind{AnswerUnreachable}},
		{"unknown notary is its own group", []NotaryAnswer{a("x", AnswerAgree), a("a", AnswerAgree)}, []AnswerKind{AnswerAgree, AnswerAgree}},
	} {
		got := GroupAnswers(tc.in, groups)
		var kinds []AnswerKind
		for _, g := range got {
			kinds = append(kinds, g.Kind)
		}
		if len(kinds) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, kinds, tc.want)
			continue
		}
		for i := range kinds {
			if kinds[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, kinds, tc.want)
			}
		}
	}
	// The group's agreement is as old as its youngest member's.
	young := NotaryAnswer{Notary: "b", Kind: AnswerAgree, AgreedSince: t0.Add(time.Hour)}
	got := GroupAnswers([]NotaryAnswer{{Notary: "a", Kind: AnswerAgree, AgreedSince: t0}, young}, groups)
	if len(got) != 1 || !got[0].AgreedSince.Equal(young.AgreedSince) || got[0].Notary != "a + b" {
		t.Errorf("agreed since: %+v", got)
	}
	if out := GroupAnswers([]NotaryAnswer{a("a", AnswerAgree)}, nil); len(out) != 1 {
		t.Errorf("no groups: %v", out)
	}
}

// renamed returns raw, a bundle, under another name: the same notary listed twice.
func renamed(t *testing.T, raw []byte, name string) []byte {
	t.Helper()
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.Name = name
	out, err := protocol.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOneAddressOneVote asks two notaries that are one machine (one real notary on one
// address, listed under two names) under a rule that needs two vouches: they count as
// one vote, and the site is not trusted on their word; a third notary elsewhere makes
// the second vote. Then two distinct notaries said (by a directory) to be on one
// network count as one vote too.
func TestOneAddressOneVote(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.Threshold, s.ThresholdK = settings.ThresholdKOfN, 2 })
	e.start(Config{})
	key, cert := newKeyCert(t, "site.test")
	site := httptest.NewUnstartedServer(http.NotFoundHandler())
	site.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}}
	site.StartTLS()
	t.Cleanup(site.Close)
	port := site.Listener.Addr().(*net.TCPAddr).Port
	tg := Target{Host: "site.test", Port: port}

	raw, err := os.ReadFile(startRealNotary(t, e.dir, "twin", keys.KeyECDSA, port))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"twin-a", "twin-b"} {
		if _, err := e.v.ImportBundleBytes(e.ctx, renamed(t, raw, name), "test", ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	vd, err := e.v.Verify(e.ctx, tg, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	// One vote can never meet a rule that needs two, so the verdict is settled before
	// any answer: without the grouping both names would vouch, and the site pass.
	if vd.Allowed() || vd.Asked != 1 || !strings.Contains(vd.Reason, "2 notaries asked count as 1 votes: twin-a + twin-b") {
		t.Fatalf("two names on one address: outcome %s, %d of %d votes, %q; want one vote, not trusted", vd.Outcome, vd.Agreed, vd.Asked, vd.Reason)
	}

	other, err := os.ReadFile(startRealNotary(t, t.TempDir(), "other", keys.KeyECDSA, port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.ImportBundleBytes(e.ctx, other, "test", ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	vd, err = e.v.Verify(e.ctx, tg, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	if !vd.Allowed() || vd.Asked != 2 || vd.Agreed != 2 {
		t.Fatalf("with a notary elsewhere: outcome %s, %d of %d votes, %q", vd.Outcome, vd.Agreed, vd.Asked, vd.Reason)
	}

	// twin-b gone: "other" and twin-a are on separate ports of loopback, so two votes,
	// until a directory says they share a network.
	if _, err := e.v.Remove(e.ctx, "twin-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.ClearCache(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.v.SetNotaryFacts(e.ctx, []directory.Facts{{Name: "twin-a", Network: "AS64500"}, {Name: "other", Network: "as64500"}}); err != nil {
		t.Fatal(err)
	}
	vd, err = e.v.Verify(e.ctx, tg, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	if vd.Allowed() || vd.Asked != 1 {
		t.Fatalf("one network: outcome %s, %d of %d votes, %q; want one vote", vd.Outcome, vd.Agreed, vd.Asked, vd.Reason)
	}
}
