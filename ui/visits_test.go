package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/verifier"
)

// trusted is a verdict from the notaries (or, cached, the cache) that let host through.
func trusted(host string, at time.Time, src verifier.Source) verifier.Event {
	return verifier.Event{Kind: verifier.EventVerified, Time: at, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: host, Port: 443}, FingerprintSHA256: strings.Repeat("11", 32),
		Outcome: verifier.OutcomeTrusted, Source: src, Agreed: 3, Asked: 3, Time: at}}
}

func TestGroupVisits(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var evs []verifier.Event
	evs = append(evs, trusted("shop.example", t0, verifier.SourceNotaries))
	for i := 1; i <= 40; i++ { // one page's connections, from the cache
		evs = append(evs, trusted("shop.example", t0.Add(time.Duration(i)*time.Second), verifier.SourceCache))
	}
	// Each disagreement comes beside its verdict's rejected event, as the verifier
	// reports them: one row, one connection each.
	for _, at := range []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Minute)} {
		d := disagreement("evil.example", at)
		rej := d
		rej.Kind = verifier.EventRejected
		evs = append(evs, rej, d)
	}
	other := disagreement("evil.example", t0.Add(3*time.Minute))
	other.Verdict.FingerprintSHA256 = strings.Repeat("ef", 32) // another certificate: another verdict
	evs = append(evs, other, trusted("news.example", t0.Add(4*time.Minute), verifier.SourceNotaries))

	got := groupVisits(evs)
	var rows []string
	for _, v := range got {
		rows = append(rows, fmt.Sprintf("%s %d %s", v.Verdict.Target.Host, v.Count, v.First.Format("15:04:05")))
	}
	want := []string{"news.example 1 10:04:00", "evil.example 1 10:03:00", "evil.example 2 10:01:00", "shop.example 41 10:00:00"}
	if strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Fatalf("visits %q\nwant   %q", rows, want)
	}
	if got[2].Kind != verifier.EventDisagree {
		t.Errorf("the row of a disagreement shows %s, want the disagreement", got[2].Kind)
	}
	if got[3].Verdict.Source != verifier.SourceCache || !got[3].Time.Equal(t0.Add(40*time.Second)) {
		t.Errorf("a row does not show its newest connection: %+v", got[3].Event)
	}
	if sites, blocked := siteCount(evs); sites != 3 || blocked != 1 {
		t.Errorf("siteCount = %d sites, %d blocked; want 3, 1", sites, blocked)
	}
	if w := siteCountWords(siteCount(evs)); w != "3 sites checked, 1 blocked" {
		t.Errorf("header words %q", w)
	}
	if w := countWords(got[3]); w != " · 41 connections since 10:00" {
		t.Errorf("count words %q", w)
	}

	// The tray's alerts: no repeats, newest last, bounded.
	var alerts []verifier.Event
	for i := range 4 {
		alerts = addAlert(alerts, disagreement("evil.example", t0.Add(time.Duration(i)*time.Second)), 3)
	}
	if len(alerts) != 1 || !alerts[0].Time.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("repeated alerts: %d, newest %s", len(alerts), alerts[0].Time)
	}
	for i := range 5 {
		alerts = addAlert(alerts, disagreement(fmt.Sprintf("s%d.example", i), t0), 3)
	}
	if len(alerts) != 3 || alerts[2].Verdict.Target.Host != "s4.example" {
		t.Fatalf("bounded alerts: %d, last %s", len(alerts), alerts[len(alerts)-1].Verdict.Target.Host)
	}
}

// TestActivityPerSiteVisit: a page's forty connections are one row with their count,
// the header counts sites, a rejected row is drawn in the error colour, and the tray
// lists a repeated alert once.
func TestActivityPerSiteVisit(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	now := time.Now()
	u.Publish(trusted("shop.example", now, verifier.SourceNotaries))
	for i := 1; i < 40; i++ {
		u.Publish(trusted("shop.example", now.Add(time.Duration(i)*time.Millisecond), verifier.SourceCache))
	}
	for i := range 3 {
		u.Publish(disagreement("evil.example", now.Add(time.Second+time.Duration(i)*time.Millisecond)))
	}
	waitIdle(t, u)
	selectTab(t, u, "Activity")
	if len(u.activity.shown) != 2 {
		t.Fatalf("activity rows %d, want 2 (one per site and verdict)", len(u.activity.shown))
	}
	for _, want := range []string{"2 sites checked, 1 blocked", "trusted: 3 of 3 agreed · 40 connections since",
		"rejected: notaries disagree, 1 of 3 agreed, 1 saw another certificate, 1 did not answer · 3 connections since"} {
		if !hasText(u.win, want) {
			t.Errorf("Activity lacks %q: %s", want, visibleText(u.win))
		}
	}
	styled := map[string]widget.Importance{}
	walk(u.activity.list, func(o fyne.CanvasObject) bool {
		if l, ok := o.(*widget.Label); ok && l.TextStyle.Bold {
			styled[l.Text] = l.Importance
		}
		return false
	})
	if styled["evil.example:443"] != widget.DangerImportance || styled["shop.example:443"] != widget.MediumImportance {
		t.Errorf("row styles %v: the rejected row must stand apart", styled)
	}
	st, _ := u.currentTrayState()
	if len(st.Alerts) != 1 {
		t.Errorf("tray alerts %d, want 1: the same site and verdict three times", len(st.Alerts))
	}
}
