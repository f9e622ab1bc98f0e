package ui

import (
	"reflect"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/convergence-ng/convergence/verifier"
)

// TestCleartextAllowListInSettings: the Settings tab edits the destinations allowed
// for tunnels that are not TLS, one per line; the store keeps them canonical, and a
// bad line is refused with its name, nothing stored.
func TestCleartextAllowListInSettings(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Settings")
	if u.settings.cleartext.Text != "" {
		t.Fatalf("a new install shows cleartext allowed to %q", u.settings.cleartext.Text)
	}
	u.settings.cleartext.SetText("Chat.Test.:5222\n\n  db.test:5432  \n")
	tap(t, u, "Save")
	s, err := b.store.Settings(ctxT(t))
	if err != nil || !reflect.DeepEqual(s.CleartextAllow, []string{"chat.test:5222", "db.test:5432"}) {
		t.Fatalf("stored cleartext allow-list %q, %v", s.CleartextAllow, err)
	}
	tap(t, u, "OK")

	u.settings.cleartext.SetText("chat.test:5222\nmail.test")
	tap(t, u, "Save")
	if !hasText(u.win, `"mail.test"`) {
		t.Errorf("a bad line was not named: %s", visibleText(u.win))
	}
	tap(t, u, "Close")
	if s, _ := b.store.Settings(ctxT(t)); len(s.CleartextAllow) != 2 {
		t.Errorf("a bad allow-list changed the store: %q", s.CleartextAllow)
	}
}

// TestActivityShowsCleartextTunnels: every unchecked tunnel is a row in Activity, in
// words that say it was not checked, and its details say why.
func TestActivityShowsCleartextTunnels(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	now := time.Now()
	refused := verifier.Verdict{Target: verifier.Target{Host: "chat.test", Port: 5222}, Outcome: verifier.OutcomeRejected,
		Source: verifier.SourceCleartext, Reason: "not TLS: a cleartext stream cannot be checked, so it was refused", Time: now}
	allowed := verifier.Verdict{Target: verifier.Target{Host: "db.test", Port: 5432}, Outcome: verifier.OutcomeTrusted,
		Source: verifier.SourceCleartext, Reason: "not TLS, let through unchecked", Time: now}
	u.Publish(verifier.Event{Kind: verifier.EventRejected, Verdict: refused, Time: now})
	u.Publish(verifier.Event{Kind: verifier.EventVerified, Verdict: allowed, Time: now.Add(time.Second)})
	waitIdle(t, u)
	selectTab(t, u, "Activity")
	if len(u.activity.shown) != 2 {
		t.Fatalf("activity rows: %d, want the two tunnels", len(u.activity.shown))
	}
	for _, want := range []string{"chat.test:5222", "refused: not TLS, so it cannot be checked",
		"db.test:5432", "let through unchecked: not TLS"} {
		if !hasText(u.win, want) {
			t.Errorf("Activity lacks %q: %s", want, visibleText(u.win))
		}
	}
	test.Type(u.activity.filter, "unchecked")
	if len(u.activity.shown) != 1 || u.activity.shown[0].Verdict.Target.Host != "db.test" {
		t.Errorf("filtering by %q: %d rows", "unchecked", len(u.activity.shown))
	}
	u.activity.filter.SetText("")
	u.activity.list.Select(1) // newest first: the refused stream is second
	waitIdle(t, u)
	if !hasText(u.win, "Why: not TLS") || !hasText(u.win, "No notary was asked") {
		t.Errorf("details of a refused stream: %s", visibleText(u.win))
	}
}
