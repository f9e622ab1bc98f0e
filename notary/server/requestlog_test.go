package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log sink safe for the summary timer's goroutine.
type lockedBuffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type summaryLine struct {
	Msg      string
	Logged   int
	Unlogged int
	By       map[string]int `json:"by_kind_status"`
}

func summaries(t *testing.T, s string) []summaryLine {
	t.Helper()
	var out []summaryLine
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var l summaryLine
		if line != "" && json.Unmarshal([]byte(line), &l) == nil && l.Msg == "requests not logged one by one" {
			out = append(out, l)
		}
	}
	return out
}

// Past max lines a second, requests are counted, and the counts written once the
// second is over: by the next request, or by the timer when no request comes.
func TestRequestLogSummarizes(t *testing.T) {
	var buf lockedBuffer
	l := newRequestLog(slog.New(slog.NewJSONHandler(&buf, nil)), 2)
	t0 := time.Unix(1_800_000_000, 0)
	var allowed int
	for i, k := range []string{"v1", "v1", "v1", "v2", "v2"} {
		if l.allow(t0.Add(time.Duration(i)*time.Millisecond), k, 200) {
			allowed++
		}
	}
	if allowed != 2 || len(summaries(t, buf.String())) != 0 {
		t.Fatalf("allowed %d of 5 with max 2; summary before the second ended: %s", allowed, buf.String())
	}
	if !l.allow(t0.Add(time.Second), "v1", 409) {
		t.Fatal("the first request of the next second got no line")
	}
	s := summaries(t, buf.String())
	if len(s) != 1 || s[0].Logged != 2 || s[0].Unlogged != 3 || s[0].By["v1 200"] != 1 || s[0].By["v2 200"] != 2 {
		t.Fatalf("summary %+v", s)
	}

	// Traffic stops: the timer writes the summary of the last second.
	now := time.Now()
	for range 4 {
		l.allow(now, "v2", 503)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(summaries(t, buf.String())) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	s = summaries(t, buf.String())
	if len(s) != 2 || s[1].By["v2 503"] != 2 {
		t.Fatalf("no summary after the traffic stopped: %+v", s)
	}
}
