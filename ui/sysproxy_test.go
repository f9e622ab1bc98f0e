package ui

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/sessionbus"
)

func gsettingsGet(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("gsettings", "get", "org.gnome.system.proxy", key).CombinedOutput()
	if err != nil {
		t.Fatalf("gsettings get %s: %v: %s", key, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestSetupProtectThisComputer taps the Setup tab's button on the real application,
// under a private session bus with real dconf: GNOME's proxy points at the proxy's PAC
// file, the tab says which desktops changed, and the same button puts it back.
func TestSetupProtectThisComputer(t *testing.T) {
	sessionbus.ForTest(t)
	if out, err := exec.Command("gsettings", "set", "org.gnome.system.proxy", "mode", "'manual'").CombinedOutput(); err != nil {
		t.Fatalf("gsettings: %v: %s", err, out)
	}
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	u, _ := newTestUI(t, b)
	u.selectTab(tabSetup)
	waitIdle(t, u)

	tap(t, u, "Protect this computer")
	if m, url := gsettingsGet(t, "mode"), gsettingsGet(t, "autoconfig-url"); m != "'auto'" || url != "'http://127.0.0.1:8118/proxy.pac'" {
		t.Fatalf("after the tap: mode %s, autoconfig-url %s", m, url)
	}
	for _, want := range []string{"GNOME: set to use Convergence (automatic, from http://127.0.0.1:8118/proxy.pac).", "Terminal programs: set to use Convergence (http_proxy=http://127.0.0.1:8118",
		"This computer's proxy settings point at Convergence"} {
		if !hasText(u.win, want) {
			t.Errorf("the Setup tab does not say %q:\n%s", want, visibleText(u.win))
		}
	}
	tap(t, u, "Stop protecting this computer")
	if m := gsettingsGet(t, "mode"); m != "'manual'" {
		t.Fatalf("after Stop: mode %s, want the user's 'manual' back", m)
	}
	if !hasText(u.win, "GNOME: put back as it was") || button(t, u.win, "Protect this computer") == nil {
		t.Errorf("after Stop, the tab shows:\n%s", visibleText(u.win))
	}
}

// TestSetupPauseFor15Minutes: the Setup tab's pause choices reach the store with their
// end, and the tab and the tray say until when.
func TestSetupPauseFor15Minutes(t *testing.T) {
	b := newStoreBackend(t)
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	u, _ := newTestUI(t, b)
	u.selectTab(tabSetup)
	waitIdle(t, u)
	before := time.Now()
	tap(t, u, "15 minutes")
	s, err := b.store.Settings(ctxT(t))
	if err != nil || !s.Paused || s.PausedUntil.Before(before.Add(14*time.Minute)) || s.PausedUntil.After(before.Add(16*time.Minute)) {
		t.Fatalf("stored pause %v until %v (%v); want about 15 minutes from %v", s.Paused, s.PausedUntil, err, before)
	}
	line := "Protection is paused until " + s.PausedUntil.Local().Format("15:04")
	if !hasText(u.win, line) || u.win.Title() != "Convergence: "+line {
		t.Errorf("title %q; tab:\n%s", u.win.Title(), visibleText(u.win))
	}
	tap(t, u, "Resume")
	if s, _ := b.store.Settings(ctxT(t)); s.Paused {
		t.Error("Resume did not reach the store")
	}
}

// TestQuitNoticeOverDBus: the notice at Quit goes out at once (TellNow, the sender
// goroutine may be gone) over D-Bus, at normal urgency: it is news, not an alarm.
func TestQuitNoticeOverDBus(t *testing.T) {
	srv := ownNotifications(t)
	b := newStoreBackend(t)
	u := newTestUIWith(t, b, defaultNotifier)
	u.TellNow(Notice{Kind: "quit", Title: "Convergence has quit: protection is off", Body: "quit-notice-check"})
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-srv.calls:
			if c.Body != "quit-notice-check" {
				continue // another package's app on the same bus
			}
			if c.Summary != "Convergence has quit: protection is off" {
				t.Errorf("summary = %q", c.Summary)
			}
			if u, ok := c.Hints["urgency"].Value().(byte); !ok || u != 1 {
				t.Errorf("urgency hint = %v, want normal (1)", c.Hints["urgency"])
			}
			return
		case <-deadline:
			t.Fatal("no Notify call for the quit notice within 10 s")
		}
	}
}
