package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// span is how far back the seeded history reaches: the rows are spread evenly over it.
const span = 7 * 24 * time.Hour

// notaries are the three notaries every seeded verdict asked.
var notaries = [3]string{"notary-eu.example", "notary-us.example", "notary-ap.example"}

// errNotEmpty means the data dir already has a history, which seeding would mix with.
var errNotEmpty = errors.New("the history is not empty")

// seed writes n rows of history into the store in dir (created when missing), oldest
// first, each as the app writes it (core.HistoryEvent), so that the app started on dir
// shows them in its Activity list. It refuses a dir whose history is not empty.
func seed(ctx context.Context, dir string, n int, now time.Time) error {
	if n < 1 || n > settings.DefaultEventCap {
		return fmt.Errorf("failed to seed history: %d rows asked, want 1 to %d (the history keeps no more)", n, settings.DefaultEventCap)
	}
	s, err := settings.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer s.Close()
	have, err := s.Events(ctx, 1)
	if err != nil {
		return err
	}
	if len(have) > 0 {
		return fmt.Errorf("failed to seed history in %q: %w; seed a fresh data dir", dir, errNotEmpty)
	}
	evs := events(n, now)
	rows := make([]settings.Event, len(evs))
	for i, ev := range evs {
		rows[i] = core.HistoryEvent(ev)
	}
	// One transaction: 10,000 AddEvent calls, each synced to disk, take over a minute.
	if err := s.AddEvents(ctx, rows); err != nil {
		return err
	}
	return s.Close()
}

// events returns n history events, oldest first, spread over the span before now. They
// come as the verifier reports its verdicts: one per site (site-00001.example:443, ...),
// mostly trusted by all three notaries; every 25th site one notary saw another
// certificate (trusted, with a notaries-disagree event); every 100th site two did
// (rejected, with notaries-disagree); every 40th site one notary did not answer
// (with a notary-unreachable event). The last verdict's events may be cut at n.
func events(n int, now time.Time) []verifier.Event {
	out := make([]verifier.Event, 0, n)
	for site := 1; len(out) < n; site++ {
		for _, ev := range verdictEvents(site) {
			if len(out) == n {
				break
			}
			ev.Time = now.Add(-span + time.Duration(len(out))*span/time.Duration(n)).Truncate(time.Millisecond)
			ev.Verdict.Time = ev.Time
			out = append(out, ev)
		}
	}
	return out
}

// verdictEvents returns the events of the verdict about one site, without times.
func verdictEvents(site int) []verifier.Event {
	host := fmt.Sprintf("site-%05d.example", site)
	fp := fingerprint(host)
	other := fingerprint("other." + host)
	firstSeen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(site%300) * 24 * time.Hour)
	disagree := 0
	switch {
	case site%100 == 0:
		disagree = 2
	case site%25 == 0:
		disagree = 1
	}
	unreachable := site%40 == 0 && disagree == 0
	answers := make([]verifier.NotaryAnswer, len(notaries))
	agreed := 0
	for i, name := range notaries {
		a := verifier.NotaryAnswer{Notary: name, Host: name + ":443", Protocol: 2,
			Latency: time.Duration(40+(site*7+i*31)%160) * time.Millisecond}
		switch {
		case i < disagree:
			a.Kind = verifier.AnswerDisagree
			a.Seen = []verifier.Sighting{{FingerprintSHA256: other, FirstSeen: firstSeen, LastSeen: firstSeen.Add(30 * 24 * time.Hour)}}
		case unreachable && i == len(notaries)-1:
			a.Kind, a.Err, a.Latency = verifier.AnswerUnreachable, "dial tcp: i/o timeout", 5*time.Second
		default:
			a.Kind, a.AgreedSince = verifier.AnswerAgree, firstSeen
			a.Seen = []verifier.Sighting{{FingerprintSHA256: fp, FirstSeen: firstSeen, LastSeen: firstSeen.Add(60 * 24 * time.Hour)}}
			agreed++
		}
		answers[i] = a
	}
	counted := len(notaries)
	if unreachable {
		counted--
	}
	v := verifier.Verdict{Target: verifier.Target{Host: host, Port: 443}, FingerprintSHA256: fp,
		Source: verifier.SourceNotaries, Answers: answers, Agreed: agreed, Asked: len(notaries)}
	kind := verifier.EventVerified
	if 2*agreed > counted {
		v.Outcome = verifier.OutcomeTrusted
		v.Reason = fmt.Sprintf("%d of %d notaries vouched (needed a majority)", agreed, counted)
	} else {
		kind = verifier.EventRejected
		v.Reason = fmt.Sprintf("only %d of %d notaries vouched (needed a majority)", agreed, counted)
	}
	out := []verifier.Event{{Kind: kind, Verdict: v}}
	if v.Disagreement() {
		out = append(out, verifier.Event{Kind: verifier.EventDisagree, Verdict: v})
	}
	if unreachable {
		out = append(out, verifier.Event{Kind: verifier.EventNotaryUnreachable, Verdict: v, Notary: notaries[len(notaries)-1]})
	}
	return out
}

// fingerprint is a stand-in certificate fingerprint: the hex SHA-256 of s.
func fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
