package server

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// defaultRequestLines is how many request lines a notary logs per second by default.
const defaultRequestLines = 100

// requestLog writes a line per request up to max a second; the requests beyond are
// counted by kind and status and written as one summary line when the second is over.
// A busy notary answers tens of thousands of requests a second: a line each was a
// tenth of its CPU, and journald drops lines past its own rate limit (10,000 per 30 s
// by default) anyway, where the summary keeps every request counted.
type requestLog struct {
	log *slog.Logger
	max int

	mu      sync.Mutex // protects the fields below
	second  int64      // unix second the counts are for
	lines   int        // request lines written in that second
	skipped map[kindStatus]int
	timer   *time.Timer // writes the summary of second when it is over
}

func newRequestLog(log *slog.Logger, max int) *requestLog {
	if max <= 0 {
		max = defaultRequestLines
	}
	return &requestLog{log: log, max: max, skipped: map[kindStatus]int{}}
}

// kindStatus keys the counts of the requests not logged one by one.
type kindStatus struct {
	kind   string
	status int
}

// allow reports whether the request ending at now gets a line of its own; if not it is
// counted under kind and status.
func (l *requestLog) allow(now time.Time, kind string, status int) bool {
	sec := now.Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	if sec != l.second {
		l.summarizeLocked()
		l.second, l.lines = sec, 0
	}
	if l.lines < l.max {
		l.lines++
		return true
	}
	if len(l.skipped) == 0 {
		// The summary is written when the second is over, by a timer (it runs once).
		until := time.Unix(sec+1, 0).Sub(now)
		l.timer = time.AfterFunc(until, func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.second == sec {
				l.summarizeLocked()
			}
		})
	}
	l.skipped[kindStatus{kind, status}]++
	return false
}

// summarizeLocked writes the counts of the requests not logged in l.second, if any.
func (l *requestLog) summarizeLocked() {
	if len(l.skipped) == 0 {
		return
	}
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	total := 0
	attrs := make([]any, 0, len(l.skipped))
	for k, n := range l.skipped {
		total += n
		attrs = append(attrs, slog.Int(k.kind+" "+strconv.Itoa(k.status), n))
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "requests not logged one by one",
		slog.Time("second", time.Unix(l.second, 0).UTC()), slog.Int("logged", l.lines), slog.Int("unlogged", total),
		slog.Group("by_kind_status", attrs...))
	clear(l.skipped)
}
