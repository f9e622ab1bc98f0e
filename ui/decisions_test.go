package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// removeDecision taps Remove on the row of "Your decisions" whose text says what.
func removeDecision(t *testing.T, u *UI, what string) {
	t.Helper()
	for _, row := range u.decisions.rows.Objects {
		var has bool
		var rm *widget.Button
		walk(row, func(o fyne.CanvasObject) bool {
			switch x := o.(type) {
			case *widget.Label:
				has = has || strings.Contains(x.Text, what)
			case *widget.Button:
				if x.Text == "Remove" {
					rm = x
				}
			}
			return false
		})
		if has && rm != nil {
			test.Tap(rm)
			waitIdle(t, u)
			return
		}
	}
	t.Fatalf("no decision row says %q: %s", what, visibleText(u.win))
}

// pressKey types a key as the driver does: to the focused widget if there is one,
// else to the window.
func pressKey(t *testing.T, u *UI, k fyne.KeyName) {
	t.Helper()
	ev := &fyne.KeyEvent{Name: k}
	if f := u.win.Canvas().Focused(); f != nil {
		f.TypedKey(ev)
	} else if on := u.win.Canvas().OnTypedKey(); on != nil {
		on(ev)
	}
	waitIdle(t, u)
}

// TestDecisionsCreateListRemove taps through each decision, on the real application:
// trust a certificate anyway from its details (the dialog's default is No: Enter and
// Escape keep it blocked), don't check private networks and allow a cleartext tunnel in
// Settings, revoke a notary on its card; each shows in "Your decisions" with when, why
// and for how long, and its Remove button ends it in the store.
func TestDecisionsCreateListRemove(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Your decisions")
	if !hasText(u.win, "No decisions: your notaries decide every site.") {
		t.Fatalf("a new install's decisions: %s", visibleText(u.win))
	}

	// Trust anyway: Enter and Escape answer No.
	ev := disagreement("evil.example", time.Now())
	fp := ev.Verdict.FingerprintSHA256
	u.showDetails(ev)
	waitIdle(t, u)
	for _, k := range []fyne.KeyName{fyne.KeyReturn, fyne.KeyEscape} {
		tap(t, u, "Trust anyway…")
		if !hasText(u.win, "This certificate only, for evil.example:443") {
			t.Fatalf("the trust dialog names no scope: %s", visibleText(u.win))
		}
		pressKey(t, u, k)
		if hasText(u.win, "For how long") {
			t.Fatalf("%s left the trust dialog open", k)
		}
		if pinned, _ := b.store.Pinned(ctxT(t), "evil.example", 443, fp); pinned {
			t.Fatalf("%s trusted the certificate: the default must be No", k)
		}
	}
	tap(t, u, "Trust anyway…")
	dur := find(u.win, func(r *widget.RadioGroup) bool { return len(r.Options) == 4 })
	if dur == nil || dur.Selected != "Once: this visit (the next 10 minutes)" {
		t.Fatalf("durations: %+v", dur)
	}
	dur.SetSelected("For 1 day")
	tap(t, u, "Yes, trust it")
	pins, err := b.store.Pins(ctxT(t))
	if err != nil || len(pins) != 1 || time.Until(pins[0].Expires) < 23*time.Hour || pins[0].UntilChange {
		t.Fatalf("pins after trusting for a day: %+v, %v", pins, err)
	}
	if hasText(u.win, "What each notary said") {
		t.Error("the details stayed open after the trust")
	}

	// Settings: private networks and a cleartext tunnel.
	selectTab(t, u, "Settings")
	u.settings.exempt.SetChecked(true)
	u.settings.cleartext.SetText("chat.example.org:5222")
	tap(t, u, "Save")
	tap(t, u, "OK")

	// A notary revoked on its card.
	selectTab(t, u, "Notaries")
	var revoke *widget.Button
	walk(find(u.win, func(c *widget.Card) bool { return c.Title == "Alpha" }), func(o fyne.CanvasObject) bool {
		if b, ok := o.(*widget.Button); ok && b.Text == "Revoke" {
			revoke = b
			return true
		}
		return false
	})
	if revoke == nil {
		t.Fatalf("no Revoke on Alpha's card: %s", visibleText(u.win))
	}
	test.Tap(revoke)
	waitIdle(t, u)

	// An allowance, as the block page's "allow for 10 minutes" makes it through the
	// proxy (localproxy's tests tap that button in Chromium).
	if _, err := b.Verifier.Allow("shop.example", 443, 10*time.Minute, "you allowed it from the block page"); err != nil {
		t.Fatal(err)
	}

	selectTab(t, u, "Your decisions")
	today := time.Now().Format("2 Jan 2006")
	for _, want := range []string{"5 decisions", "Let shop.example:443 through unchecked", "Why: you allowed it from the block page",
		"Trust certificate " + fp[:16] + "… for evil.example:443", "Why: you trusted it anyway, from its details",
		"Do not check sites at private addresses", "Let streams that are not TLS to chat.example.org:5222 through, unchecked",
		"Do not trust the notary Alpha", "Made " + today, "lasts until ", "lasts always, until you remove it"} {
		if !hasText(u.win, want) {
			t.Errorf("Your decisions lack %q: %s", want, visibleText(u.win))
		}
	}

	removeDecision(t, u, "Trust certificate "+fp[:16])
	if pinned, _ := b.store.Pinned(ctxT(t), "evil.example", 443, fp); pinned {
		t.Error("the pin is still stored after Remove")
	}
	removeDecision(t, u, "private addresses")
	removeDecision(t, u, "chat.example.org:5222")
	if s, _ := b.store.Settings(ctxT(t)); s.ExemptPrivate || len(s.CleartextAllow) != 0 {
		t.Errorf("settings after Remove: exempt %v, cleartext %q", s.ExemptPrivate, s.CleartextAllow)
	}
	if u.settings.exempt.Checked || u.settings.cleartext.Text != "" {
		t.Error("the Settings tab still shows the removed decisions")
	}
	removeDecision(t, u, "Let shop.example:443 through unchecked")
	if len(b.Verifier.Allowances()) != 0 {
		t.Error("the allowance still holds after Remove")
	}
	// Ending a revocation trusts the notary again: it asks, and Enter says No.
	removeDecision(t, u, "Do not trust the notary Alpha")
	pressKey(t, u, fyne.KeyReturn)
	if !notary(t, b, "Alpha").Revoked {
		t.Fatal("Enter on 'Trust this notary again?' trusted it")
	}
	removeDecision(t, u, "Do not trust the notary Alpha")
	tap(t, u, "Yes")
	if notary(t, b, "Alpha").Revoked {
		t.Error("Alpha still revoked after Remove and Yes")
	}
	if !hasText(u.win, "No decisions: your notaries decide every site.") || len(u.decisions.rows.Objects) != 0 {
		t.Errorf("after removing every decision: %s", visibleText(u.win))
	}
	if v := u.decisions.shown; len(v) != 0 {
		t.Errorf("decisions still held: %+v", v)
	}
}
