package core

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// A notary's health, from the answers it gave in the verdicts of the last hour: the
// history in the store keeps them across restarts (each verdict the notaries gave is
// kept with every answer), and the window adds the answers of new verdicts as they
// arrive. The rule is here, once, for the window and the terminal.

// HealthWindow is how far back a notary's answer rate and latency look.
const HealthWindow = time.Hour

// NotaryHealth is what the answers of the last HealthWindow say about one notary.
type NotaryHealth struct {
	Name string
	// Last is the notary's newest answer, at LastAt (zero when none is known).
	Last   verifier.AnswerKind
	LastAt time.Time
	// Asked and Answered count the requests of the window and those answered usably.
	Asked, Answered int
	// Latency is the median time of the window's usable answers; 0 when none.
	Latency time.Duration
	// DownSince is when the notary stopped answering: the first of the failures since
	// its last usable answer; zero when its newest answer was usable.
	DownSince time.Time
}

// answered reports whether an answer counts as the notary answering.
func answered(k verifier.AnswerKind) bool {
	return k != verifier.AnswerUnreachable && k != verifier.AnswerInvalid && k != verifier.AnswerUnauthentic
}

// HealthFrom computes each notary's health at now from events, oldest first (the
// history, then what arrived since). Only a verdict the notaries gave counts, once
// (not its disagreement or unreachable events, which repeat its answers; not the
// cache's, which repeat old ones); answers not waited for are not requests. A notary
// whose newest failure is older than the window is still down since then: the
// window bounds the rate and latency, not what is known of the last answer. A pure
// function.
func HealthFrom(events []verifier.Event, now time.Time) map[string]NotaryHealth {
	type acc struct {
		h    NotaryHealth
		lats []time.Duration
	}
	by := map[string]*acc{}
	since := now.Add(-HealthWindow)
	for _, ev := range events {
		if (ev.Kind != verifier.EventVerified && ev.Kind != verifier.EventRejected) || ev.Verdict.Source != verifier.SourceNotaries {
			continue
		}
		for _, a := range ev.Verdict.Answers {
			if a.Kind == verifier.AnswerNotAsked || a.Notary == "" {
				continue
			}
			x := by[a.Notary]
			if x == nil {
				x = &acc{h: NotaryHealth{Name: a.Notary}}
				by[a.Notary] = x
			}
			ok := answered(a.Kind)
			if !ev.Time.Before(x.h.LastAt) {
				x.h.Last, x.h.LastAt = a.Kind, ev.Time
				switch {
				case ok:
					x.h.DownSince = time.Time{}
				case x.h.DownSince.IsZero():
					x.h.DownSince = ev.Time
				}
			}
			if ev.Time.Before(since) || ev.Time.After(now) {
				continue
			}
			x.h.Asked++
			if ok {
				x.h.Answered++
				if a.Latency > 0 {
					x.lats = append(x.lats, a.Latency)
				}
			}
		}
	}
	out := make(map[string]NotaryHealth, len(by))
	for name, x := range by {
		if len(x.lats) > 0 {
			slices.Sort(x.lats)
			x.h.Latency = x.lats[len(x.lats)/2]
		}
		out[name] = x.h
	}
	return out
}

// Words says the health in plain words at now, as the window's card and 'notary
// list' show it: "Unreachable since 14:02 · answered 0 of 12 in the last hour" or
// "Last answer 2 min ago · answered 12 of 12 in the last hour · typically 80 ms".
func (h NotaryHealth) Words(now time.Time) string {
	if h.LastAt.IsZero() {
		return "No answer seen yet"
	}
	var s string
	if !h.DownSince.IsZero() {
		s = "Unreachable since " + clock(now, h.DownSince)
	} else {
		s = "Last answer " + agoWords(now, h.LastAt)
	}
	if h.Asked > 0 {
		s += fmt.Sprintf(" · answered %d of %d in the last hour", h.Answered, h.Asked)
	} else {
		s += " · not asked in the last hour"
	}
	if h.Latency > 0 {
		s += fmt.Sprintf(" · typically %d ms", h.Latency.Milliseconds())
	}
	return s
}

// clock words a time of today as 15:04, another day's as 2 Jan 15:04.
func clock(now, t time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("2 Jan 15:04")
}

// agoWords says roughly how long ago t was.
func agoWords(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return t.Local().Format("2 Jan 2006")
}

// healthHistory is how many events of the history NotaryHealth reads: the last hour of
// a busy browser fits (only verdicts the notaries gave are kept, not cache hits).
const healthHistory = 5000

// NotaryHealth reads each notary's health from the history in the store, for the
// terminal; the window computes it from the events it holds (HealthFrom).
func (c *Core) NotaryHealth(ctx context.Context) (map[string]NotaryHealth, error) {
	evs, err := c.History(ctx, healthHistory)
	if err != nil {
		return nil, err
	}
	return HealthFrom(evs, time.Now()), nil
}
