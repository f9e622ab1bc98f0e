package core

import (
	"context"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// verdictAt is a verdict the notaries gave at at, with these answers.
func verdictAt(at time.Time, answers ...verifier.NotaryAnswer) verifier.Event {
	return verifier.Event{Kind: verifier.EventVerified, Time: at, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: "shop.example", Port: 443}, Outcome: verifier.OutcomeTrusted,
		Source: verifier.SourceNotaries, Answers: answers, Time: at}}
}

func TestHealthFrom(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.Local)
	ok := func(name string, ms int) verifier.NotaryAnswer {
		return verifier.NotaryAnswer{Notary: name, Kind: verifier.AnswerAgree, Latency: time.Duration(ms) * time.Millisecond}
	}
	down := func(name string) verifier.NotaryAnswer {
		return verifier.NotaryAnswer{Notary: name, Kind: verifier.AnswerUnreachable, Err: "timeout"}
	}
	evs := []verifier.Event{
		verdictAt(now.Add(-2*time.Hour), ok("Alpha", 900), ok("Beta", 10)), // outside the window
		verdictAt(now.Add(-50*time.Minute), ok("Alpha", 80), down("Beta")),
		verdictAt(now.Add(-40*time.Minute), ok("Alpha", 100), down("Beta"), verifier.NotaryAnswer{Notary: "Gamma", Kind: verifier.AnswerNotAsked}),
		verdictAt(now.Add(-2*time.Minute), ok("Alpha", 60), down("Beta")),
	}
	// The verdict's own unreachable and disagreement events, and a cache hit, repeat
	// answers: they do not count again.
	evs = append(evs,
		verifier.Event{Kind: verifier.EventNotaryUnreachable, Notary: "Beta", Time: now.Add(-2 * time.Minute), Verdict: evs[3].Verdict},
		verifier.Event{Kind: verifier.EventDisagree, Time: now.Add(-2 * time.Minute), Verdict: evs[3].Verdict})
	cached := verdictAt(now.Add(-time.Minute), down("Alpha"))
	cached.Verdict.Source = verifier.SourceCache
	evs = append(evs, cached)

	h := HealthFrom(evs, now)
	a, b := h["Alpha"], h["Beta"]
	if a.Asked != 3 || a.Answered != 3 || a.Latency != 80*time.Millisecond || !a.DownSince.IsZero() || !a.LastAt.Equal(now.Add(-2*time.Minute)) {
		t.Errorf("Alpha %+v", a)
	}
	if b.Asked != 3 || b.Answered != 0 || b.Latency != 0 || !b.DownSince.Equal(now.Add(-50*time.Minute)) || b.Last != verifier.AnswerUnreachable {
		t.Errorf("Beta %+v", b)
	}
	if _, ok := h["Gamma"]; ok {
		t.Error("a notary never waited for has a health")
	}
	if w := a.Words(now); w != "Last answer 2 min ago · answered 3 of 3 in the last hour · typically 80 ms" {
		t.Errorf("Alpha's words %q", w)
	}
	if w := b.Words(now); w != "Unreachable since 14:10 · answered 0 of 3 in the last hour" {
		t.Errorf("Beta's words %q", w)
	}
	// Back: one usable answer ends "unreachable since".
	h = HealthFrom(append(evs, verdictAt(now, ok("Beta", 30))), now)
	if b := h["Beta"]; !b.DownSince.IsZero() || b.Answered != 1 || b.Asked != 4 {
		t.Errorf("Beta back: %+v", b)
	}
}

// TestNotaryHealthAcrossRestart: the health comes from the history in the store, so a
// restarted app (another Core on the same data dir) knows it.
func TestNotaryHealthAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	c, err := Open(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", NoCA: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.publish(verdictAt(now.Add(-10*time.Minute), verifier.NotaryAnswer{Notary: "Alpha", Kind: verifier.AnswerAgree, Latency: 70 * time.Millisecond}))
	c.publish(verdictAt(now.Add(-5*time.Minute), verifier.NotaryAnswer{Notary: "Alpha", Kind: verifier.AnswerUnreachable}))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = Open(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", NoCA: true, Secrets: settings.NewMemorySecrets()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := c.NotaryHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := h["Alpha"]
	if a.Asked != 2 || a.Answered != 1 || a.Latency != 70*time.Millisecond || a.DownSince.IsZero() {
		t.Fatalf("Alpha after a restart: %+v", a)
	}
}
