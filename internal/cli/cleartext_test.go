package cli

import (
	"strings"
	"testing"
)

// TestCleartextCommand: allow, list and remove edit the stored allow-list, in canonical
// form; bad entries are usage errors that name the mistake.
func TestCleartextCommand(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	if out := e.mustRun("cleartext", "list"); !strings.Contains(out, "no cleartext tunnels are allowed") {
		t.Errorf("cleartext list on a new install: %q", out)
	}
	if out := e.mustRun("cleartext", "allow", "Chat.Example.ORG.:5222"); !strings.Contains(out, "allowed chat.example.org:5222") {
		t.Errorf("cleartext allow: %q", out)
	}
	if out := e.mustRun("cleartext", "allow", "chat.example.org:5222"); !strings.Contains(out, "already allowed") {
		t.Errorf("cleartext allow twice: %q", out)
	}
	e.mustRun("cleartext", "allow", "[2001:DB8::5]:5432")
	if out := e.mustRun("cleartext", "list"); out != "[2001:db8::5]:5432\nchat.example.org:5222\n" {
		t.Errorf("cleartext list = %q; want both, canonical, sorted", out)
	}
	if out := e.mustRun("cleartext", "remove", "chat.example.org.:5222"); !strings.Contains(out, "removed chat.example.org:5222") {
		t.Errorf("cleartext remove: %q", out)
	}
	if out := e.mustRun("cleartext", "list"); out != "[2001:db8::5]:5432\n" {
		t.Errorf("cleartext list after remove = %q", out)
	}
	for _, args := range [][]string{
		{"cleartext", "allow", "chat.example.org"}, {"cleartext", "allow", "x:0"}, {"cleartext", "permit", "x:1"}, {"cleartext"},
	} {
		code, _, errs := e.run(args...)
		if code != 2 || !strings.Contains(errs, "convergence: error:") {
			t.Errorf("convergence %s: exit %d, stderr %q; want a usage error", strings.Join(args, " "), code, errs)
		}
	}
	if code, _, errs := e.run("cleartext", "allow", "chat.example.org"); !strings.Contains(errs, `"chat.example.org"`) || code != 2 {
		t.Errorf("a bad entry's error does not name it: %q", errs)
	}
}
