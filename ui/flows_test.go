package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func notary(t *testing.T, b *storeBackend, name string) settings.Notary {
	t.Helper()
	n, err := b.store.Notary(ctxT(t), name)
	if err != nil {
		t.Fatalf("notary %q: %v", name, err)
	}
	return n
}

// dropFile imports through the window's drop handler, as a drag-and-drop does.
func TestThresholdChangeReachesStore(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Settings")
	if u.settings.threshold.Selected != "Most notaries must agree (recommended)" {
		t.Fatalf("default threshold shown as %q", u.settings.threshold.Selected)
	}
	if !u.settings.k.Disabled() {
		t.Error("K is editable while the rule is not k-of-n")
	}
	u.settings.threshold.SetSelected("A number I choose")
	u.settings.k.SetSelected("2")
	if !strings.Contains(u.settings.explain.Text, "at least 2 of the notaries asked") {
		t.Errorf("explanation = %q", u.settings.explain.Text)
	}
	u.settings.cacheTTL.SetSelected("1 week")
	u.settings.unreachable.SetSelected("Count it as disagreeing")
	tap(t, u, "Save")
	s, err := b.store.Settings(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Threshold != settings.ThresholdKOfN || s.ThresholdK != 2 || s.CacheTTL != 7*24*time.Hour || !s.UnreachableCountsAgainst {
		t.Fatalf("stored settings: %+v", s)
	}
	tap(t, u, "OK")

	// Values that do not fit together: a plain error with the fix, nothing stored.
	u.settings.k.SetSelected("5")
	u.settings.maxNotaries.SetSelected("3")
	tap(t, u, "Save")
	if !hasText(u.win, "Some values don't fit together") || !hasText(u.win, "more than the notaries asked") {
		t.Fatalf("invalid settings: %s", visibleText(u.win))
	}
	tap(t, u, "Close")
	if s, _ := b.store.Settings(ctxT(t)); s.ThresholdK != 2 {
		t.Fatalf("invalid settings were stored: K=%d", s.ThresholdK)
	}

	// Everything else round-trips.
	u.settings.k.SetSelected("3")
	u.settings.threshold.SetSelected("Every notary must agree (strictest)")
	u.settings.exempt.SetChecked(true)
	u.settings.notify.SetChecked(false)
	u.settings.port.SetText("9119")
	u.settings.noAnswer.SetSelected("Allow it, with a warning")
	tap(t, u, "Save")
	s, _ = b.store.Settings(ctxT(t))
	if s.Threshold != settings.ThresholdAll || s.MaxNotaries != 3 || !s.ExemptPrivate || s.Notifications ||
		s.ListenAddr != "127.0.0.1:9119" || s.NoAnswerPolicy != settings.NoAnswerAllowWarn {
		t.Fatalf("stored settings: %+v", s)
	}
}

func TestAutostartToggle(t *testing.T) {
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" || os.Getenv(childEnv) == "" {
		t.Fatal("TestMain did not set XDG_CONFIG_HOME")
	}
	file := filepath.Join(cfg, "autostart", "convergence.desktop")
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Settings")
	box := find(u.win, func(c *widget.Check) bool { return c.Text == "Start Convergence when I log in" })
	if box == nil || box.Checked {
		t.Fatalf("autostart box: %v", box)
	}
	test.Tap(box)
	tap(t, u, "Save")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no autostart entry after enabling: %v", err)
	}
	if !strings.Contains(string(data), "Name=Convergence") || !strings.Contains(string(data), "Exec=") {
		t.Errorf("autostart entry:\n%s", data)
	}
	if s, _ := b.store.Settings(ctxT(t)); !s.Autostart {
		t.Error("Autostart setting not stored")
	}
	tap(t, u, "OK")
	test.Tap(box)
	tap(t, u, "Save")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("autostart entry still there after disabling: %v", err)
	}
}

func TestCacheRemoveAndClear(t *testing.T) {
	b := newStoreBackend(t)
	ctx := ctxT(t)
	for i, h := range []string{"a.example", "b.example", "c.example"} {
		err := b.store.PutCache(ctx, settings.CacheEntry{Host: h, Port: 443,
			FingerprintSHA256: strings.Repeat(string(rune('a'+i)), 64), Vouchers: []string{"Alpha"},
			Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Cache")
	if len(u.cache.shown) != 3 || !hasText(u.win, "3 cached verdicts") {
		t.Fatalf("cache tab: %d shown, %s", len(u.cache.shown), visibleText(u.win))
	}
	test.Type(u.cache.search, "b.exa")
	if len(u.cache.shown) != 1 || u.cache.shown[0].Host != "b.example" {
		t.Fatalf("search shows %+v", u.cache.shown)
	}
	tap(t, u, "Remove")
	if es, _ := b.store.CacheEntries(ctx); len(es) != 2 {
		t.Fatalf("entries after Remove: %d, want 2", len(es))
	}
	u.cache.search.SetText("")
	tap(t, u, "Clear all…")
	if !hasText(u.win, "Every cached verdict will be forgotten") {
		t.Fatalf("no confirmation: %s", visibleText(u.win))
	}
	tap(t, u, "Yes")
	if es, _ := b.store.CacheEntries(ctx); len(es) != 0 {
		t.Fatalf("entries after Clear all: %d, want 0", len(es))
	}
	if !hasText(u.win, "The cache is empty.") {
		t.Errorf("after clear: %s", visibleText(u.win))
	}
}

func TestPauseAndResume(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	u, _ := newTestUI(t, b)
	tap(t, u, "Pause protection")
	if s, _ := b.store.Settings(ctxT(t)); !s.Paused {
		t.Fatal("pause did not reach the store")
	}
	st, _ := u.currentTrayState()
	if st.Mode != modePaused || u.win.Title() != "Convergence: Protection is paused until you resume it" {
		t.Fatalf("after pause: mode %v, title %q", st.Mode, u.win.Title())
	}
	// The tray menu offers Resume; its action reaches the backend too.
	menu := u.trayMenu(st, true)
	var resume *fyne.MenuItem
	for _, it := range menu.Items {
		if it.Label == "Resume protection" {
			resume = it
		}
	}
	if resume == nil {
		t.Fatalf("tray menu has no Resume: %v", menuLabels(menu))
	}
	resume.Action()
	waitIdle(t, u)
	if s, _ := b.store.Settings(ctxT(t)); s.Paused {
		t.Fatal("resume did not reach the store")
	}
	if button(t, u.win, "Pause protection") == nil {
		t.Fatal("button does not offer Pause again")
	}
}

func menuLabels(m *fyne.Menu) []string {
	var out []string
	for _, it := range m.Items {
		out = append(out, it.Label)
	}
	return out
}

// disagreement is an event where one of three notaries saw another certificate.
func disagreement(host string, at time.Time) verifier.Event {
	return verifier.Event{Kind: verifier.EventDisagree, Time: at, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: host, Port: 443}, FingerprintSHA256: strings.Repeat("ab", 32),
		Outcome: verifier.OutcomeRejected, Source: verifier.SourceNotaries, Reason: "only 1 of 3 notaries agreed",
		Code: verifier.ReasonDisagree, Agreed: 1, Asked: 3, Time: at,
		Answers: []verifier.NotaryAnswer{
			{Notary: "Alpha", Host: "alpha.example.org:443", Kind: verifier.AnswerAgree, Latency: 40 * time.Millisecond},
			{Notary: "Beta", Host: "beta.example.org:443", Kind: verifier.AnswerDisagree, Latency: 60 * time.Millisecond,
				Seen: []verifier.Sighting{{FingerprintSHA256: strings.Repeat("cd", 32), FirstSeen: at.Add(-48 * time.Hour), LastSeen: at}}},
			{Notary: "Gamma", Host: "gamma.example.org:443", Kind: verifier.AnswerUnreachable, Err: "timeout"},
		}}}
}

func TestActivityDetailsTrustAndNotify(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	u, rec := newTestUI(t, b)
	now := time.Now()
	u.Publish(verifier.Event{Kind: verifier.EventVerified, Time: now, Verdict: verifier.Verdict{
		Target: verifier.Target{Host: "good.example", Port: 443}, Outcome: verifier.OutcomeTrusted,
		Source: verifier.SourceNotaries, Agreed: 3, Asked: 3}})
	cert := selfSigned(t, "evil.example")
	ev := disagreement("evil.example", now.Add(time.Second))
	ev.Verdict.FingerprintSHA256 = verifier.FingerprintSHA256(cert)
	b.mu.Lock()
	b.certs[ev.Verdict.FingerprintSHA256] = cert
	b.mu.Unlock()
	u.Publish(ev)
	u.Publish(disagreement("evil.example", now.Add(2*time.Second))) // same site: no second notification
	waitIdle(t, u)

	select {
	case n := <-rec.ch:
		if n.Title != "Convergence blocked evil.example" || !strings.Contains(n.Body, "1 of 3 agreed, 1 saw another certificate, 1 did not answer") {
			t.Fatalf("notification = %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification for a disagreement")
	}
	st, _ := u.currentTrayState()
	if st.Mode != modeAlert || len(st.Alerts) != 2 {
		t.Fatalf("tray after alerts: mode %v, %d alerts", st.Mode, len(st.Alerts))
	}

	// The list is newest first and filterable.
	if len(u.activity.shown) != 3 || u.activity.shown[2].Verdict.Target.Host != "good.example" {
		t.Fatalf("activity rows: %d", len(u.activity.shown))
	}
	test.Type(u.activity.filter, "good")
	if len(u.activity.shown) != 1 {
		t.Fatalf("filtered rows: %d, want 1", len(u.activity.shown))
	}
	u.activity.filter.SetText("")

	// A row opens the details with the certificate and each notary's answer.
	u.activity.list.Select(1)
	waitIdle(t, u)
	for _, want := range []string{"Subject: CN=evil.example", "Beta (beta.example.org:443): saw a different certificate",
		"Gamma (gamma.example.org:443): did not answer — timeout", "Notaries: 1 of 3 agreed, 1 saw another certificate, 1 did not answer."} {
		if !hasText(u.win, want) {
			t.Errorf("details lack %q: %s", want, visibleText(u.win))
		}
	}
	tap(t, u, "Trust anyway…")
	tap(t, u, "Yes, trust it")
	pinned, err := b.store.Pinned(ctxT(t), "evil.example", 443, ev.Verdict.FingerprintSHA256)
	if err != nil || !pinned {
		t.Fatalf("pin after Trust: %v, %v", pinned, err)
	}

	// Forget removes the pin again.
	u.showDetails(ev)
	tap(t, u, "Forget")
	if pinned, _ := b.store.Pinned(ctxT(t), "evil.example", 443, ev.Verdict.FingerprintSHA256); pinned {
		t.Fatal("pin still there after Forget")
	}

	rec.mu.Lock()
	sent := len(rec.sent)
	rec.mu.Unlock()
	if sent != 1 {
		t.Fatalf("notifications sent = %d, want 1 (rate limit per site)", sent)
	}
}

func TestSetupGuide(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	if u.tabs.Selected().Text != "Setup" {
		t.Errorf("first run opens on %q, want Setup", u.tabs.Selected().Text)
	}
	if !hasText(u.win, "Nothing is set up yet.") {
		t.Fatalf("first run: %s", visibleText(u.win))
	}
	if u.setup.addr.Text != "127.0.0.1:8118" || u.setup.pac.Text != "http://127.0.0.1:8118/proxy.pac" {
		t.Fatalf("address %q, PAC %q", u.setup.addr.Text, u.setup.pac.Text)
	}
	test.Tap(find(u.win, func(b *widget.Button) bool { return b.Text == "Copy" }))
	if got := u.app.Clipboard().Content(); got != "127.0.0.1:8118" {
		t.Errorf("clipboard = %q", got)
	}
	tap(t, u, "Install in system and browsers")
	// A real certutil into a browser database of the test's own (the system store is
	// left out: it would change this machine).
	if find(u.win, func(l *widget.Label) bool {
		return strings.HasPrefix(l.Text, "Chromium/Chrome database ") && strings.HasSuffix(l.Text, "nssdb")
	}) == nil || !hasText(u.win, "Installed, verified: certutil -L -n ") {
		t.Fatalf("install results: %s", visibleText(u.win))
	}
	if !b.Status().CAInstalled {
		t.Error("the application does not know the CA was installed")
	}
	if !hasText(u.win, "Almost there: there are no notaries, no browser has loaded the check page with the local authority trusted (step 4).") {
		t.Errorf("banner after CA install: %s", visibleText(u.win))
	}
}

func TestSettingsKeepUnlistedCacheLifetimeAndNotificationsOff(t *testing.T) {
	b := newStoreBackend(t)
	s := settings.Defaults()
	s.CacheTTL = 12 * time.Hour // not one of the presets: set from the terminal face
	if err := b.store.SaveSettings(ctxT(t), s); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, b)
	if u.settings.cacheTTL.Selected != "12h0m0s (current)" {
		t.Fatalf("cache lifetime shown as %q", u.settings.cacheTTL.Selected)
	}
	selectTab(t, u, "Settings")
	test.Tap(find(u.win, func(c *widget.Check) bool { return c.Text == "Notify me when notaries disagree or a site is blocked" }))
	tap(t, u, "Save")
	got, _ := b.store.Settings(ctxT(t))
	if got.CacheTTL != 12*time.Hour || got.Notifications {
		t.Fatalf("stored: TTL %s, notifications %v", got.CacheTTL, got.Notifications)
	}
	// With notifications off an alert still reaches the tray, but no notification is
	// even considered (the per-site limiter is never consulted).
	u.Publish(disagreement("quiet.example", time.Now()))
	waitIdle(t, u)
	u.mu.Lock()
	_, considered := u.limiter.last["quiet.example"]
	u.mu.Unlock()
	if considered {
		t.Fatal("a notification was sent with notifications off")
	}
	if st, _ := u.currentTrayState(); len(st.Alerts) != 1 {
		t.Fatalf("tray alerts after an alert = %d, want 1", len(st.Alerts))
	}
}
