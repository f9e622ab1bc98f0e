package ui

import (
	"testing"

	"github.com/convergence-ng/convergence/settings"
)

// TestSettingsSaveKeepsTerminalChanges: the Settings tab was shown, then the terminal
// paused protection and allowed a cleartext destination; saving the tab with a new rule
// changes the rule and keeps both (issue 20: a form saved whole undid them), and the
// tab then shows what is stored.
func TestSettingsSaveKeepsTerminalChanges(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Settings")
	if _, err := b.store.UpdateSettings(ctxT(t), func(s *settings.Settings) error {
		s.Paused = true
		s.CleartextAllow = []string{"chat.example:5222"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	u.settings.threshold.SetSelected("Every notary must agree (strictest)")
	tap(t, u, "Save")
	tap(t, u, "OK")
	s, err := b.store.Settings(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Threshold != settings.ThresholdAll || !s.Paused || len(s.CleartextAllow) != 1 {
		t.Fatalf("stored after the tab's save: threshold %s, paused %v, cleartext %q; want all, and the terminal's changes kept", s.Threshold, s.Paused, s.CleartextAllow)
	}
	if u.settings.cleartext.Text != "chat.example:5222" {
		t.Errorf("the tab shows cleartext %q after saving; want what is stored", u.settings.cleartext.Text)
	}
}
