package ui

import (
	"slices"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// statsWindow is how many recent requests a notary's availability and latency cover.
const statsWindow = 20

// notaryStats is what the UI learned about one notary from the verdicts it was shown.
type notaryStats struct {
	lastAnswer time.Time
	answered   []bool          // recent requests, oldest first, at most statsWindow
	latencies  []time.Duration // recent answer times, oldest first, at most statsWindow
}

// record adds one answer. Answers the verdict did not wait for are not counted.
func (s *notaryStats) record(a verifier.NotaryAnswer, at time.Time) {
	if a.Kind == verifier.AnswerNotAsked {
		return
	}
	ok := a.Kind != verifier.AnswerUnreachable && a.Kind != verifier.AnswerInvalid && a.Kind != verifier.AnswerUnauthentic
	s.answered = appendBounded(s.answered, ok)
	if ok {
		if at.After(s.lastAnswer) {
			s.lastAnswer = at
		}
		if a.Latency > 0 {
			s.latencies = appendBounded(s.latencies, a.Latency)
		}
	}
}

func appendBounded[T any](xs []T, x T) []T {
	if len(xs) >= statsWindow {
		xs = append(xs[:0], xs[1:]...)
	}
	return append(xs, x)
}

// availability is the share of recent requests answered, or -1 when none is known.
func (s *notaryStats) availability() float64 {
	if s == nil || len(s.answered) == 0 {
		return -1
	}
	n := 0
	for _, ok := range s.answered {
		if ok {
			n++
		}
	}
	return float64(n) / float64(len(s.answered))
}

// latency is the median recent answer time, or 0 when none is known.
func (s *notaryStats) latency() time.Duration {
	if s == nil || len(s.latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	return l[len(l)/2]
}

// recordStatsLocked updates the per-notary statistics from one event. u.mu must be held.
func (u *UI) recordStatsLocked(ev verifier.Event) {
	if u.stats == nil {
		u.stats = map[string]*notaryStats{}
	}
	get := func(name string) *notaryStats {
		s := u.stats[name]
		if s == nil {
			s = &notaryStats{}
			u.stats[name] = s
		}
		return s
	}
	if ev.Kind == verifier.EventNotaryUnreachable && ev.Notary != "" {
		get(ev.Notary).record(verifier.NotaryAnswer{Notary: ev.Notary, Kind: verifier.AnswerUnreachable}, ev.Time)
		return
	}
	if ev.Verdict.Source != verifier.SourceNotaries {
		return // cached verdicts repeat old answers
	}
	for _, a := range ev.Verdict.Answers {
		get(a.Notary).record(a, ev.Time)
	}
}

// statsFor returns a copy of what is known about a notary.
func (u *UI) statsFor(name string) notaryStats {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s := u.stats[name]; s != nil {
		return notaryStats{lastAnswer: s.lastAnswer, answered: slices.Clone(s.answered), latencies: slices.Clone(s.latencies)}
	}
	return notaryStats{}
}
