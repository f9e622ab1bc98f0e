package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// A browser opens many connections to a site for one page, and each is checked (most
// from the cache): Activity shows site visits, not connections. Events are grouped by
// site and verdict; a row stands for every connection of the group.

// visit is one row of Activity: the newest event of a site and verdict, and how many
// connections had that verdict.
type visit struct {
	verifier.Event           // the newest
	Count          int       // connections with this site and verdict
	First          time.Time // the oldest of them

	pairAt time.Time // a disagreement counted whose verdict event is still to come
}

// visitKey says which events are one row: the same site (host and port) and
// certificate, the same kind of event and outcome, and for notary events the same
// notary. A verdict from the cache is the same verdict as the one the notaries gave.
type visitKey struct {
	host      string
	port      int
	fp        string
	kind      verifier.EventKind
	outcome   verifier.Outcome
	notary    string
	cleartext bool
}

func keyOf(ev verifier.Event) visitKey {
	v := ev.Verdict
	kind := ev.Kind
	if kind == verifier.EventDisagree { // it tells more of its verdict's event: one row
		kind = verifier.EventRejected
		if v.Allowed() {
			kind = verifier.EventVerified
		}
	}
	return visitKey{v.Target.Host, v.Target.Port, v.FingerprintSHA256, kind, v.Outcome, ev.Notary, v.Source == verifier.SourceCleartext}
}

// groupVisits groups events (oldest first) into visits, newest first. A pure function.
func groupVisits(events []verifier.Event) []visit {
	return groupVisitsInto(nil, map[visitKey]int{}, events, nil)
}

// groupVisitsInto is groupVisits of the events keep accepts (nil: all), reusing out's
// storage and the map idx (cleared first), so that refreshing a full Activity list
// (10,000 events) does not make a new list each time.
func groupVisitsInto(out []visit, idx map[visitKey]int, events []verifier.Event, keep func(*verifier.Event) bool) []visit {
	clear(idx)
	clear(out) // drop what the old rows held, for the collector
	out = out[:0]
	for i := len(events) - 1; i >= 0; i-- {
		if keep != nil && !keep(&events[i]) {
			continue
		}
		ev := events[i]
		k := keyOf(ev)
		j, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, visit{Event: ev, First: ev.Time})
			j = len(out) - 1
		}
		g := &out[j]
		g.First = ev.Time
		// A disagreement comes beside its verdict's own event (same time): the row shows
		// the disagreement, which says more, and counts the two as one connection.
		switch {
		case ev.Kind == verifier.EventDisagree:
			g.Count++
			g.pairAt = ev.Time
			if g.Kind != verifier.EventDisagree && g.Time.Equal(ev.Time) {
				g.Event = ev
			}
		case !g.pairAt.IsZero() && g.pairAt.Equal(ev.Time):
			g.pairAt = time.Time{}
		default:
			g.Count++
		}
	}
	return out
}

// siteCount counts the sites (host and port) in events, and those of them whose
// newest verdict was not allowed.
func siteCount(events []verifier.Event) (sites, blocked int) {
	type site struct {
		host string
		port int
	}
	seen := make(map[site]bool, 64)
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		if ev.Kind == verifier.EventNotaryUnreachable || ev.Kind == verifier.EventNotaryImpersonated {
			continue // about a notary, not a site visit
		}
		k := site{ev.Verdict.Target.Host, ev.Verdict.Target.Port}
		if seen[k] {
			continue
		}
		seen[k] = true
		sites++
		if !ev.Verdict.Allowed() {
			blocked++
		}
	}
	return sites, blocked
}

// siteCountWords words siteCount for the Activity header.
func siteCountWords(sites, blocked int) string {
	var b strings.Builder
	switch sites {
	case 1:
		b.WriteString("1 site checked")
	default:
		fmt.Fprintf(&b, "%d sites checked", sites)
	}
	if blocked > 0 {
		fmt.Fprintf(&b, ", %d blocked", blocked)
	}
	return b.String()
}

// countWords says how many connections a row stands for; empty for one.
func countWords(v visit) string {
	if v.Count <= 1 {
		return ""
	}
	return fmt.Sprintf(" · %d connections since %s", v.Count, v.First.Format("15:04"))
}

// addAlert adds ev to the tray's recent alerts (oldest first, at most n): an alert
// about the same site and verdict as one listed replaces it, so the list has no
// repeats.
func addAlert(alerts []verifier.Event, ev verifier.Event, n int) []verifier.Event {
	k := keyOf(ev)
	out := alerts[:0:0]
	for _, a := range alerts {
		if keyOf(a) != k {
			out = append(out, a)
		}
	}
	out = append(out, ev)
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}
