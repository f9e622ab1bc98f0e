package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

func TestRateLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type call struct {
		site string
		at   time.Duration // after t0
		want bool
	}
	for _, tc := range []struct {
		name  string
		calls []call
	}{
		{"first is allowed", []call{{"a", 0, true}}},
		{"same site soon is refused", []call{{"a", 0, true}, {"a", time.Minute, false}, {"a", 4*time.Minute + 59*time.Second, false}}},
		{"same site after the window", []call{{"a", 0, true}, {"a", 5 * time.Minute, true}, {"a", 6 * time.Minute, false}}},
		{"other sites are independent", []call{{"a", 0, true}, {"b", time.Second, true}, {"a", 2 * time.Second, false}, {"c", 3 * time.Second, true}}},
		{"a refused call does not extend the window", []call{{"a", 0, true}, {"a", 4 * time.Minute, false}, {"a", 5 * time.Minute, true}}},
		{"clock going backwards allows", []call{{"a", time.Hour, true}, {"a", 0, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rateLimiter{every: 5 * time.Minute}
			for i, c := range tc.calls {
				if got := r.allow(c.site, t0.Add(c.at)); got != c.want {
					t.Fatalf("call %d (%s at +%s) = %v, want %v", i, c.site, c.at, got, c.want)
				}
			}
		})
	}
	// Old entries are forgotten, so the map stays bounded by the sites of one window.
	r := rateLimiter{every: time.Minute}
	for i := range 1000 {
		r.allow(fmt.Sprintf("site%d", i), t0.Add(time.Duration(i)*time.Second))
	}
	if len(r.last) > 61 {
		t.Fatalf("limiter keeps %d sites, want at most 61", len(r.last))
	}
}

func TestComputeTrayState(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	alert := disagreement("evil.example", now.Add(-time.Minute))
	ok := Status{ProxyAddr: "127.0.0.1:8118"}
	for _, tc := range []struct {
		name      string
		st        Status
		notaries  int
		lastAlert time.Time
		want      trayMode
		line      string
	}{
		{"protecting", ok, 2, time.Time{}, modeProtecting, "Protecting (proxy on 127.0.0.1:8118)"},
		{"notaries not loaded yet", ok, -1, time.Time{}, modeProtecting, "Protecting (proxy on 127.0.0.1:8118)"},
		{"recent alert", ok, 2, now.Add(-time.Minute), modeAlert, "Notaries disagreed about a site recently"},
		{"old alert", ok, 2, now.Add(-alertFor), modeProtecting, "Protecting (proxy on 127.0.0.1:8118)"},
		{"paused beats alert", Status{Paused: true}, 2, now, modePaused, "Protection is paused until you resume it"},
		{"paused for a while", Status{Paused: true, PausedUntil: time.Date(2026, 12, 1, 14, 5, 0, 0, time.Local)}, 2, now, modePaused, "Protection is paused until 14:05"},
		{"no notaries", ok, 0, now, modeProblem, "Not protecting: no notaries are set up"},
		{"proxy down beats everything", Status{ProxyErr: "port in use", Paused: true}, 0, now, modeProblem, "Not protecting: the proxy could not start"},
		{"keyring fallback", Status{KeyringFallback: true}, 1, time.Time{}, modeProblem, "Protecting, but no keyring: the key is kept in a file"},
		{"disk full beats pause and alert", Status{DiskFull: true, Paused: true, KeyringFallback: true}, 2, now, modeProblem, "The disk is full: Convergence cannot remember new verdicts"},
		{"proxy down beats disk full", Status{ProxyErr: "port in use", DiskFull: true}, 2, now, modeProblem, "Not protecting: the proxy could not start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := computeTrayState(tc.st, tc.notaries, []verifier.Event{alert}, tc.lastAlert, nil, now)
			if s.Mode != tc.want || s.Line != tc.line {
				t.Fatalf("got mode %v %q, want %v %q", s.Mode, s.Line, tc.want, tc.line)
			}
			if s.Mode.icon() == nil || len(s.Mode.icon().Content()) == 0 {
				t.Fatal("no icon")
			}
		})
	}
	// Alerts are listed newest first.
	a2 := disagreement("later.example", now)
	s := computeTrayState(ok, 1, []verifier.Event{alert, a2}, now, nil, now)
	if s.Alerts[0].Verdict.Target.Host != "later.example" {
		t.Fatalf("alerts not newest first: %v", s.Alerts)
	}
}

func TestTrayMenuFromState(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	now := time.Now()
	s := computeTrayState(Status{}, 1, []verifier.Event{disagreement("evil.example", now)}, now, nil, now)
	m := u.trayMenu(s, false)
	labels := menuLabels(m)
	want := []string{"Notaries disagreed about a site recently", "", "Open Convergence", "Pause for 15 minutes", "Pause for 1 hour", "Pause until I resume", "",
		"Recent alerts", "evil.example blocked: 1 of 3 agreed, 1 saw another certificate, 1 did not answer (" + now.Format("15:04") + ")", "", "Quit"}
	if strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Fatalf("menu = %q\nwant   %q", labels, want)
	}
	if !m.Items[0].Disabled || !m.Items[len(m.Items)-1].IsQuit {
		t.Error("status line must be disabled and Quit marked IsQuit")
	}
	// Clicking an alert opens its details.
	m.Items[8].Action()
	waitIdle(t, u)
	if !hasText(u.win, "saw a different certificate") || !hasText(u.win, "evil.example:443 was rejected") {
		t.Fatalf("alert click: %s", visibleText(u.win))
	}
}

func TestExplainErrors(t *testing.T) {
	for _, tc := range []struct {
		err      error
		what     string
		fixsnips string
	}{
		{fmt.Errorf("failed to parse bundle: %w", protocol.ErrMalformed), "not a valid .notary file", "Ask the notary's operator"},
		{fmt.Errorf("x: %w", verifier.ErrBundleSource), "not a file or an https:// address", "https://"},
		{fmt.Errorf("failed to read bundle %q: %w", "/nope", os.ErrNotExist), "does not exist", "Choose the file again"},
		{fmt.Errorf("failed to fetch: %w", context.DeadlineExceeded), "took too long", "network connection"},
		{errors.Join(fmt.Errorf("%w: threshold K (5) is more than the notaries asked (3)", settings.ErrInvalidSettings)), "could not save", "threshold K (5) is more than the notaries asked (3)"},
		{errors.New("disk on fire"), "could not save", "Details: disk on fire."},
	} {
		what, fix := explain("save", tc.err)
		if !strings.Contains(what, tc.what) || !strings.Contains(fix, tc.fixsnips) {
			t.Errorf("explain(%v) = %q / %q", tc.err, what, fix)
		}
	}
}

func TestNotificationText(t *testing.T) {
	ev := disagreement("evil.example", time.Now())
	n := notificationFor(ev)
	if n.Title != "Convergence blocked evil.example" || !strings.Contains(n.Body, "Notaries: 1 of 3 agreed, 1 saw another certificate, 1 did not answer.") {
		t.Fatalf("rejected: %+v", n)
	}
	ev.Verdict.Outcome = verifier.OutcomeTrusted
	n = notificationFor(ev)
	if n.Title != "Notaries disagree about evil.example" || !strings.Contains(n.Body, "avoid entering passwords") {
		t.Fatalf("allowed: %+v", n)
	}
	if isAlert(verifier.Event{Kind: verifier.EventRejected, Verdict: verifier.Verdict{Source: verifier.SourceExempt}}) {
		t.Error("an exempt rejection is not a notary alert")
	}

	// Allowed unverified (no notary answered, "allow with a warning"): an alert.
	unverified := verifier.Event{Kind: verifier.EventVerified, Time: time.Now(), Verdict: verifier.Verdict{
		Target: verifier.Target{Host: "cafe.example", Port: 443}, Outcome: verifier.OutcomeTrusted,
		Source: verifier.SourceNotaries, Asked: 3, Warning: "not verified: no notary answered", Code: verifier.ReasonUnreachable}}
	if !isAlert(unverified) {
		t.Error("a site let through unverified is not an alert")
	}
	n = notificationFor(unverified)
	if n.Title != "Not verified: cafe.example" || !strings.Contains(n.Body, "no notary answered") || !strings.Contains(n.Body, "passwords") {
		t.Errorf("unverified: %+v", n)
	}
	unverified.Verdict.Warning = ""
	if isAlert(unverified) {
		t.Error("an ordinary verified site is an alert")
	}

	// Undecided (too few notaries reached), blocked: an outage, says so, not "someone
	// saw another" nor "intercepting".
	undecided := verifier.Event{Kind: verifier.EventRejected, Time: time.Now(), Verdict: verifier.Verdict{
		Target: verifier.Target{Host: "bank.example", Port: 443}, Outcome: verifier.OutcomeRejected,
		Source: verifier.SourceNotaries, Agreed: 1, Asked: 3, Undecided: true, Code: verifier.ReasonUnreachable,
		Answers: []verifier.NotaryAnswer{{Kind: verifier.AnswerAgree}, {Kind: verifier.AnswerUnreachable}, {Kind: verifier.AnswerUnreachable}}}}
	if n := notificationFor(undecided); n.Title != outageTitle || !strings.Contains(n.Body, "1 of 3 agreed, 2 did not answer") ||
		strings.Contains(n.Body, "intercept") || !n.Calm {
		t.Errorf("undecided: %+v", n)
	}
	if s := summary(undecided); !strings.Contains(s, "notaries unreachable, 1 of 3 agreed, 2 did not answer") {
		t.Errorf("undecided Activity row %q", s)
	}

	// An impersonated notary: an alert of its own that names the notary.
	imp := verifier.Event{Kind: verifier.EventNotaryImpersonated, Notary: "Nordic Notary", Time: time.Now(), Verdict: undecided.Verdict}
	if !isAlert(imp) {
		t.Error("an impersonated notary is not an alert")
	}
	if n := notificationFor(imp); n.Title != "Someone is impersonating notary Nordic Notary" || !strings.Contains(n.Body, "bank.example") || !strings.Contains(n.Body, "failed authentication") {
		t.Errorf("impersonated: %+v", n)
	}
	if s := summary(imp); !strings.Contains(s, "Nordic Notary impersonated") {
		t.Errorf("impersonated Activity row %q", s)
	}
}

// TestAnswersTextNamesHostsOnlyWhenKnown: a notary with no host (not waited for, or
// read back from an old history) shows no empty "()".
func TestAnswersTextNamesHostsOnlyWhenKnown(t *testing.T) {
	got := answersText([]verifier.NotaryAnswer{
		{Notary: "Nordic Notary", Host: "nordic.example:443", Kind: verifier.AnswerAgree},
		{Notary: "Alpine Notary", Kind: verifier.AnswerNotAsked},
	})
	if !strings.Contains(got, "Nordic Notary (nordic.example:443): saw the same certificate") ||
		!strings.Contains(got, "Alpine Notary: not needed") || strings.Contains(got, "()") {
		t.Errorf("answers text:\n%s", got)
	}
}

// TestEverySurfaceWordsTheReasonCode: the notification, the tray's alert state and
// line, the tray menu's label and the Activity row all take the verdict's reason code:
// with every notary down they say "unreachable" and never "intercepting"; with a
// disagreement they say so.
func TestEverySurfaceWordsTheReasonCode(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	down := []verifier.NotaryAnswer{{Notary: "N1", Kind: verifier.AnswerUnreachable, Err: "dial tcp 10.0.0.1:443: connect: connection refused"},
		{Notary: "N2", Kind: verifier.AnswerUnreachable, Err: "i/o timeout"}, {Notary: "N3", Kind: verifier.AnswerUnreachable, Err: "no such host"}}
	outageEv := verifier.Event{Kind: verifier.EventRejected, Time: now, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: "shop.test", Port: 443}, Outcome: verifier.OutcomeRejected, Source: verifier.SourceNotaries,
		Code: verifier.ReasonUnreachable, Undecided: true, Asked: 3, Answers: down}}
	attack := disagreement("shop.test", now)
	attack.Kind = verifier.EventRejected

	for _, tc := range []struct {
		name     string
		ev       verifier.Event
		words    string
		tray     trayMode
		trayLine string
	}{
		{"every notary down", outageEv, "unreachable", modeOffline, "Notaries unreachable: 0 of 3"},
		{"a real attack", attack, "disagree", modeAlert, "Notaries disagreed about a site recently"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := notificationFor(tc.ev)
			text := strings.ToLower(n.Title + " " + n.Body)
			attack := tc.ev.Verdict.Code.Attack()
			if strings.Contains(text, "intercept") != attack {
				t.Errorf("notification speaks of interception: %v, want %v: %+v", !attack, attack, n)
			}
			if attack == n.Calm {
				t.Errorf("notification Calm = %v for %s", n.Calm, tc.ev.Verdict.Code)
			}
			if !attack && n.Title != "Convergence can't reach your notaries, so sites are blocked" {
				t.Errorf("outage title %q", n.Title)
			}
			var out *outage
			out = nextOutage(out, tc.ev)
			var last time.Time
			if alarming(tc.ev) {
				last = tc.ev.Time
			}
			s := computeTrayState(Status{ProxyAddr: "127.0.0.1:8118"}, 3, []verifier.Event{tc.ev}, last, out, now.Add(time.Minute))
			if s.Mode != tc.tray || s.Line != tc.trayLine {
				t.Errorf("tray %v %q, want %v %q", s.Mode, s.Line, tc.tray, tc.trayLine)
			}
			label := strings.ToLower(alertLabel(tc.ev) + " " + summary(tc.ev))
			if attack && !strings.Contains(label, "interception") || !attack && !strings.Contains(label, "unreachable") {
				t.Errorf("tray label and Activity row %q", label)
			}
		})
	}

	// The outage ends with the first verdict in which notaries answered, and by itself
	// after alertFor without news.
	out := nextOutage(nil, outageEv)
	cached := verifier.Event{Kind: verifier.EventVerified, Time: now, Verdict: verifier.Verdict{Source: verifier.SourceCache, Outcome: verifier.OutcomeTrusted}}
	if nextOutage(out, cached) != out {
		t.Error("a cached verdict ended the outage")
	}
	ok := verifier.Event{Kind: verifier.EventVerified, Time: now, Verdict: verifier.Verdict{Source: verifier.SourceNotaries, Outcome: verifier.OutcomeTrusted,
		Asked: 3, Agreed: 3, Answers: []verifier.NotaryAnswer{{Kind: verifier.AnswerAgree}, {Kind: verifier.AnswerAgree}, {Kind: verifier.AnswerAgree}}}}
	if nextOutage(out, ok) != nil {
		t.Error("notaries answered, and the outage goes on")
	}
	if s := computeTrayState(Status{}, 3, nil, time.Time{}, out, now.Add(alertFor)); s.Mode == modeOffline {
		t.Error("an outage without news for alertFor still shows")
	}
	withPortal := Status{}
	withPortal.Portal.Portal = &localproxy.Portal{Host: "wifi.portal.test"}
	if s := computeTrayState(withPortal, 3, nil, time.Time{}, out, now); !strings.Contains(s.Line, "sign-in at wifi.portal.test") {
		t.Errorf("outage behind a captive portal: %q", s.Line)
	}
	if nextKey, attackKey := notifyKey(outageEv), notifyKey(attack); nextKey == attackKey {
		t.Error("an outage is rate-limited per site")
	}
}
