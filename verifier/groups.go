package verifier

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/convergence-ng/convergence/notary/directory"
)

// Notaries that share a host, an address, an operator or a network are one notary as
// far as an attacker is concerned (directory.Shared, the one home of that rule), so
// the consensus counts each such group of the notaries asked as one vote: the answers
// are grouped (GroupAnswers) before they are counted (Decide, Settled). What a notary's
// hosts say (names, IP literals) is known here; who runs it and on which network comes
// from the directories, through SetNotaryFacts.

// SetNotaryFacts gives what the directories say of the notaries (by name: operator,
// country, network, addresses) and reloads, dropping cached verdicts that no longer
// meet the rule once the votes are grouped. A notary without facts is known by its
// hosts alone.
func (v *Verifier) SetNotaryFacts(ctx context.Context, facts []directory.Facts) error {
	m := make(map[string]directory.Facts, len(facts))
	for _, f := range facts {
		m[f.Name] = f
	}
	v.factsMu.Lock()
	same := maps.EqualFunc(m, v.facts, func(a, b directory.Facts) bool {
		return a.Operator == b.Operator && a.Country == b.Country && a.Network == b.Network && slices.Equal(a.Addresses, b.Addresses)
	})
	v.facts = m
	v.factsMu.Unlock()
	if same {
		return nil
	}
	if _, err := v.reload(ctx); err != nil {
		return err
	}
	s, err := v.snapshot(ctx)
	if err != nil {
		return err
	}
	_, err = v.purgeStale(ctx, s)
	return err
}

// notaryFacts returns what is known of n: its hosts and IP-literal addresses, with
// what extra (the directories) says of it.
func notaryFacts(n notaryInfo, extra map[string]directory.Facts) directory.Facts {
	f := extra[n.Name]
	f.Name = n.Name
	f.Hosts = nil
	f.Addresses = slices.Clone(f.Addresses)
	for _, e := range n.Endpoints {
		f.AddHost(e.Host, e.Port)
	}
	return f
}

// groupsOf returns the group of each notary asked (directory.Groups), or nil when no
// two of them share anything: then every notary is its own vote.
func groupsOf(asked []notaryInfo, facts map[string]directory.Facts) map[string]string {
	fs := make([]directory.Facts, len(asked))
	for i, n := range asked {
		fs[i] = notaryFacts(n, facts)
	}
	g := directory.Groups(fs)
	for name, group := range g {
		if name != group {
			return g
		}
	}
	return nil
}

// rank orders answers within a group: the group's vote is its member's answer of the
// highest rank. Evidence against wins over a vouch (an attacker who holds the shared
// machine or network makes the members agree; one that still disagrees is a warning),
// a vouch over a missing answer.
func rank(k AnswerKind) int {
	switch k {
	case AnswerUnauthentic:
		return 5
	case AnswerDisagree:
		return 4
	case AnswerAgree:
		return 3
	case AnswerUnreachable, AnswerInvalid:
		return 2
	}
	return 1 // no opinion, not asked
}

// GroupAnswers returns one answer per group of notaries (groupOf: notary name to its
// group's name; a notary not in it is a group of its own), in the order of the groups'
// first answers. A group's answer is its members' answer of the highest rank: failed
// authentication, then disagreement, then agreement (since the latest AgreedSince of
// the members that agreed, zero if one is unknown), then unreachable, then no
// opinion. It names the members ("A + B"). A pure function.
func GroupAnswers(answers []NotaryAnswer, groupOf map[string]string) []NotaryAnswer {
	if groupOf == nil {
		return answers
	}
	var order []string
	byGroup := map[string][]NotaryAnswer{}
	for _, a := range answers {
		g, ok := groupOf[a.Notary]
		if !ok {
			g = a.Notary
		}
		if _, seen := byGroup[g]; !seen {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], a)
	}
	out := make([]NotaryAnswer, 0, len(order))
	for _, g := range order {
		members := byGroup[g]
		if len(members) == 1 {
			out = append(out, members[0])
			continue
		}
		best := members[0]
		names := []string{}
		for _, m := range members {
			names = append(names, m.Notary)
			if rank(m.Kind) > rank(best.Kind) {
				best = m
			}
		}
		if best.Kind == AnswerAgree {
			for _, m := range members {
				if m.Kind != AnswerAgree {
					continue
				}
				if m.AgreedSince.IsZero() {
					best.AgreedSince = m.AgreedSince
					break
				}
				if m.AgreedSince.After(best.AgreedSince) {
					best.AgreedSince = m.AgreedSince
				}
			}
		}
		best.Notary = strings.Join(names, " + ")
		out = append(out, best)
	}
	return out
}

// groupedVotes is what Settled counts while answers come in: one vote per group whose
// members have all been heard (GroupAnswers), and how many groups still wait for a
// member. answers[i] is valid where heard[i].
func groupedVotes(asked []notaryInfo, answers []NotaryAnswer, heard []bool, groupOf map[string]string) ([]NotaryAnswer, int) {
	if groupOf == nil {
		var votes []NotaryAnswer
		pending := 0
		for i := range asked {
			if heard[i] {
				votes = append(votes, answers[i])
			} else {
				pending++
			}
		}
		return votes, pending
	}
	waiting := map[string]bool{}
	for i, n := range asked {
		if !heard[i] {
			waiting[groupOf[n.Name]] = true
		}
	}
	var complete []NotaryAnswer
	for i, n := range asked {
		if heard[i] && !waiting[groupOf[n.Name]] {
			complete = append(complete, answers[i])
		}
	}
	return GroupAnswers(complete, groupOf), len(waiting)
}

// groupNote says which notaries asked were counted together, for the verdict's reason;
// "" when none were.
func groupNote(asked []notaryInfo, groupOf map[string]string) string {
	if groupOf == nil {
		return ""
	}
	members := map[string][]string{}
	var order []string
	for _, n := range asked {
		g := groupOf[n.Name]
		if _, ok := members[g]; !ok {
			order = append(order, g)
		}
		members[g] = append(members[g], n.Name)
	}
	var parts []string
	for _, g := range order {
		if len(members[g]) > 1 {
			parts = append(parts, strings.Join(members[g], " + "))
		}
	}
	return fmt.Sprintf("%d notaries asked count as %d votes: %s share a host, an address, an operator or a network",
		len(asked), len(order), strings.Join(parts, "; "))
}
