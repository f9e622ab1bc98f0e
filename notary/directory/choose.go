package directory

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultChoose is how many notaries Choose picks when asked for none in particular.
const DefaultChoose = 3

// Pick is one notary Choose picked, and why.
type Pick struct {
	Entry  Entry
	Reason string
}

// Costs of having something in common with a notary already picked or held. Sharing a
// host or an address is the same machine; an operator or a network, one party that
// can make both lie; a country, one jurisdiction.
const (
	costMachine = 1000
	costParty   = 100
	costCountry = 10
)

// Choose picks up to n notaries (DefaultChoose when n < 1) from candidates that are as
// independent as can be of each other and of the notaries held already: at each step
// the candidate sharing least with those picked and held (a host or address first, then
// an operator or a network, then a country), the one listed longest on a tie, then by
// name. Candidates already held (by name) are not picked. It is a pure function.
func Choose(candidates []Entry, held []Facts, n int) []Pick {
	if n < 1 {
		n = DefaultChoose
	}
	heldNames := map[string]bool{}
	for _, h := range held {
		heldNames[h.Name] = true
	}
	var pool []Entry
	for _, c := range candidates {
		if !heldNames[c.Name()] {
			pool = append(pool, c)
		}
	}
	slices.SortStableFunc(pool, func(a, b Entry) int {
		if c := strings.Compare(a.Listed, b.Listed); c != 0 {
			return c
		}
		return strings.Compare(a.Name(), b.Name())
	})
	taken := slices.Clone(held)
	var picks []Pick
	for len(picks) < n && len(pool) > 0 {
		best, bestCost := 0, -1
		for i, c := range pool {
			if cost := costOf(FactsOf(c), taken); bestCost < 0 || cost < bestCost {
				best, bestCost = i, cost
			}
		}
		e := pool[best]
		pool = slices.Delete(pool, best, best+1)
		picks = append(picks, Pick{Entry: e, Reason: reason(FactsOf(e), taken)})
		taken = append(taken, FactsOf(e))
	}
	return picks
}

func costOf(f Facts, taken []Facts) int {
	cost := 0
	for _, t := range taken {
		for _, s := range Shared(f, t) {
			switch s.Kind {
			case TraitHost, TraitAddress:
				cost += costMachine
			default:
				cost += costParty
			}
		}
		if same(f.Country, t.Country) {
			cost += costCountry
		}
	}
	return cost
}

// reason says why f was picked next to taken (the picks and held notaries before it).
func reason(f Facts, taken []Facts) string {
	desc := fmt.Sprintf("run by %s in %s on network %s", f.Operator, f.Country, f.Network)
	if len(taken) == 0 {
		return "the longest-listed notary: " + desc
	}
	var shared []string
	sameCountry := 0
	for _, t := range taken {
		for _, s := range Shared(f, t) {
			shared = append(shared, fmt.Sprintf("%s with %q", s, t.Name))
		}
		if same(f.Country, t.Country) {
			sameCountry++
		}
	}
	switch {
	case len(shared) > 0:
		return fmt.Sprintf("no independent notary was left: it shares %s, and counts as one vote with it (%s)", strings.Join(shared, ", "), desc)
	case sameCountry > 0:
		return fmt.Sprintf("another operator and network than the others, but the same country as %d of them: %s", sameCountry, desc)
	}
	return "independent of the others (another operator, country and network): " + desc
}
