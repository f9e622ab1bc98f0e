package cli

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/sessionbus"
)

func gsettingsMode(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("gsettings", "get", "org.gnome.system.proxy", "mode").CombinedOutput()
	if err != nil {
		t.Fatalf("gsettings: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestSystemProxyCommands runs 'system-proxy enable|status|disable' under a private
// session bus with real dconf: each says, per desktop, what it did and what holds.
func TestSystemProxyCommands(t *testing.T) {
	sessionbus.ForTest(t)
	if out, err := exec.Command("gsettings", "set", "org.gnome.system.proxy", "mode", "'manual'").CombinedOutput(); err != nil {
		t.Fatalf("gsettings: %v: %s", err, out)
	}
	e := cliEnv{t: t, dir: t.TempDir()}
	if out := e.mustRun("system-proxy", "status"); !regexp.MustCompile(`(?m)^GNOME +does not point at Convergence +a proxy set by hand$`).MatchString(out) {
		t.Errorf("status before enable:\n%s", out)
	}
	code, out, errOut := e.run("system-proxy", "enable")
	if code != 0 || !regexp.MustCompile(`(?m)^GNOME +points at Convergence \(changed now\) +automatic, from http://127\.0\.0\.1:0/proxy\.pac$`).MatchString(out) ||
		!strings.Contains(out, "changed: GNOME") {
		t.Errorf("enable: exit %d\n%s", code, out)
	}
	if !strings.Contains(errOut, "Convergence is not running on 127.0.0.1:0") {
		t.Errorf("enable with no app running gave no warning; stderr:\n%s", errOut)
	}
	if m := gsettingsMode(t); m != "'auto'" {
		t.Errorf("mode after enable = %s", m)
	}
	if out := e.mustRun("system-proxy", "status"); !regexp.MustCompile(`(?m)^GNOME +points at Convergence +automatic`).MatchString(out) {
		t.Errorf("status after enable:\n%s", out)
	}
	if out := e.mustRun("system-proxy", "disable"); !strings.Contains(out, "put back as they were: GNOME") {
		t.Errorf("disable:\n%s", out)
	}
	if m := gsettingsMode(t); m != "'manual'" {
		t.Errorf("mode after disable = %s, want the user's 'manual' back", m)
	}
	if out := e.mustRun("system-proxy", "disable"); !strings.Contains(out, "nothing to put back") {
		t.Errorf("second disable:\n%s", out)
	}
	if code, _, errOut := e.run("system-proxy", "on"); code != 2 || !strings.Contains(errOut, "unknown system-proxy command") {
		t.Errorf("system-proxy on: exit %d, %s", code, errOut)
	}
}

func TestPauseCommands(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	if out := e.mustRun("pause", "15m"); !regexp.MustCompile(`^paused until \d\d:\d\d:\d\d: sites pass unchecked`).MatchString(out) {
		t.Errorf("pause 15m: %s", out)
	}
	if out := e.mustRun("settings"); !regexp.MustCompile(`(?m)^paused +on until \d\d:\d\d:\d\d `).MatchString(out) {
		t.Errorf("settings after pause 15m:\n%s", out)
	}
	e.mustRun("resume")
	if out := e.mustRun("settings"); !regexp.MustCompile(`(?m)^paused +off `).MatchString(out) {
		t.Errorf("settings after resume:\n%s", out)
	}
	if out := e.mustRun("pause", "forever"); !strings.Contains(out, "paused until you resume") {
		t.Errorf("pause forever: %s", out)
	}
	if out := e.mustRun("settings"); !regexp.MustCompile(`(?m)^paused +on `).MatchString(out) {
		t.Errorf("settings after pause forever:\n%s", out)
	}
	for _, bad := range []string{"soon", "-5m", "0"} {
		if code, _, errOut := e.run("pause", bad); code != 2 || !strings.Contains(errOut, "is not a duration") {
			t.Errorf("pause %s: exit %d, %s", bad, code, errOut)
		}
	}
}
