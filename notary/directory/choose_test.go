package directory

import (
	"strings"
	"testing"
)

// lab is five notaries: two on one network (AS1), two run by one operator, one on a
// host that another also uses.
func lab(t *testing.T) []Entry {
	return []Entry{
		testEntry(t, "Alpha", "Alpha e.V.", "DE", "AS1", "2026-01-01", "10.0.0.1"),
		testEntry(t, "Beta", "Beta Ltd", "DE", "AS1", "2026-01-02", "10.0.0.2"),
		testEntry(t, "Gamma", "Gamma Inc", "US", "AS2", "2026-01-03", "10.0.1.1"),
		testEntry(t, "Delta", "Gamma Inc", "FR", "AS3", "2026-01-04", "10.0.2.1"),
		testEntry(t, "Epsilon", "Eps SA", "NL", "AS4", "2026-01-05", "10.0.3.1", "10.0.0.1"),
	}
}

func names(ps []Pick) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Entry.Name())
	}
	return out
}

func TestChooseIndependent(t *testing.T) {
	picks := Choose(lab(t), nil, 0)
	// Alpha first (listed longest); then Gamma (nothing shared); then none is free:
	// Beta shares AS1 and DE with Alpha, Delta the operator with Gamma, Epsilon an
	// address with Alpha. The cheapest is Delta (a shared party, another country), never
	// the shared machine.
	if got := strings.Join(names(picks), ","); got != "Alpha,Gamma,Delta" {
		t.Fatalf("picked %s", got)
	}
	if len(picks) != DefaultChoose {
		t.Fatalf("picked %d, want %d", len(picks), DefaultChoose)
	}
	for _, p := range picks {
		if p.Entry.Name() == "Epsilon" {
			t.Fatalf("picked Epsilon, which shares an address with Alpha: %v", names(picks))
		}
		if p.Reason == "" {
			t.Fatalf("no reason for %s", p.Entry.Name())
		}
	}
	if !strings.Contains(picks[1].Reason, "independent") {
		t.Errorf("second pick's reason %q", picks[1].Reason)
	}
	if !strings.Contains(picks[2].Reason, "one vote") {
		t.Errorf("third pick shares something; its reason says %q", picks[2].Reason)
	}
}

func TestChooseWithoutOverlap(t *testing.T) {
	l := lab(t)
	free := []Entry{l[0], l[2], l[4]} // Alpha, Gamma, Epsilon: Epsilon shares 10.0.0.1 with Alpha
	free[2] = testEntry(t, "Zeta", "Zeta", "SE", "AS9", "2026-02-01", "10.0.9.1")
	picks := Choose(free, nil, 3)
	if len(Overlaps(factsOfPicks(picks))) != 0 {
		t.Fatalf("picks overlap: %v", Overlaps(factsOfPicks(picks)))
	}
	for _, p := range picks[1:] {
		if !strings.Contains(p.Reason, "independent") {
			t.Errorf("%s: %q", p.Entry.Name(), p.Reason)
		}
	}
}

func TestChooseHeldAndCount(t *testing.T) {
	l := lab(t)
	held := []Facts{FactsOf(l[0])} // Alpha is held already
	picks := Choose(l, held, 1)
	if len(picks) != 1 || picks[0].Entry.Name() != "Gamma" {
		t.Fatalf("with Alpha held, one pick: %v", names(picks))
	}
	if got := Choose(l, nil, 10); len(got) != len(l) {
		t.Fatalf("asked for more than there are: %d", len(got))
	}
	if got := Choose(nil, nil, 3); len(got) != 0 {
		t.Fatalf("from nothing: %v", names(got))
	}
}

func factsOfPicks(ps []Pick) []Facts {
	var out []Facts
	for _, p := range ps {
		out = append(out, FactsOf(p.Entry))
	}
	return out
}

func TestSharedAndGroups(t *testing.T) {
	l := lab(t)
	fs := make([]Facts, len(l))
	for i, e := range l {
		fs[i] = FactsOf(e)
	}
	if s := Shared(fs[0], fs[4]); len(s) != 1 || s[0] != (Trait{TraitAddress, "10.0.0.1"}) {
		t.Fatalf("Alpha and Epsilon share %v", s)
	}
	if s := Shared(fs[0], fs[1]); len(s) != 1 || s[0] != (Trait{TraitNetwork, "AS1"}) {
		t.Fatalf("Alpha and Beta share %v", s)
	}
	if s := Shared(fs[2], fs[3]); len(s) != 1 || s[0] != (Trait{TraitOperator, "Gamma Inc"}) {
		t.Fatalf("Gamma and Delta share %v", s)
	}
	if s := Shared(fs[0], fs[2]); len(s) != 0 {
		t.Fatalf("Alpha and Gamma share %v", s)
	}
	if s := Shared(Facts{Name: "x"}, Facts{Name: "y"}); len(s) != 0 {
		t.Fatalf("unknowns are shared: %v", s)
	}
	g := Groups(fs)
	want := map[string]string{"Alpha": "Alpha", "Beta": "Alpha", "Epsilon": "Alpha", "Gamma": "Gamma", "Delta": "Gamma"}
	for n, w := range want {
		if g[n] != w {
			t.Errorf("group of %s = %s, want %s", n, g[n], w)
		}
	}
	ov := Overlaps(fs)
	if len(ov) != 3 || !strings.Contains(ov[0].Warning(), "one notary as far as an attacker is concerned") {
		t.Fatalf("overlaps %v", ov)
	}
}
