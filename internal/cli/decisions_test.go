package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
)

// TestDecisionsCommand: the terminal lists the decisions made by its other commands
// and by 'decisions trust', with when, why and how long, and removes each by its ID;
// an unknown ID says how to find the right one.
func TestDecisionsCommand(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	if out := e.mustRun("decisions", "list"); !strings.Contains(out, "no decisions") {
		t.Errorf("decisions on a new install: %q", out)
	}
	fp := strings.Repeat("ab", 32)
	if out := e.mustRun("decisions", "trust", "Shop.Example", fp, "--for", "day"); !strings.Contains(out, "trusted this certificate only, for shop.example:443: for 1 day") {
		t.Errorf("decisions trust: %q", out)
	}
	e.mustRun("cleartext", "allow", "chat.example.org:5222")
	out := e.mustRun("decisions")
	for _, want := range []string{"ID", "Trust certificate " + fp[:16] + "… for shop.example:443", "until ", "you trusted it anyway, from the terminal",
		"Let streams that are not TLS to chat.example.org:5222 through, unchecked", "always, until you remove it"} {
		if !strings.Contains(out, want) {
			t.Errorf("decisions list lacks %q:\n%s", want, out)
		}
	}
	id := regexp.MustCompile(`(?m)^(tunnel-[0-9a-f]{8}) `).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no tunnel ID in:\n%s", out)
	}
	if out := e.mustRun("decisions", "remove", id[1]); !strings.Contains(out, "refused again") {
		t.Errorf("decisions remove: %q", out)
	}
	if out := e.mustRun("cleartext", "list"); !strings.Contains(out, "no cleartext tunnels are allowed") {
		t.Errorf("the tunnel is still allowed after its decision was removed: %q", out)
	}
	code, _, errs := e.run("decisions", "remove", id[1])
	if code != 1 || !strings.Contains(errs, "hint: run 'convergence decisions list'") {
		t.Errorf("removing it again: exit %d, %q", code, errs)
	}
	for _, args := range [][]string{
		{"decisions", "trust", "shop.example", fp}, {"decisions", "trust", "shop.example", fp, "--for", "forever"}, {"decisions", "forget"},
	} {
		if code, _, errs := e.run(args...); code != 2 || !strings.Contains(errs, "convergence: error:") {
			t.Errorf("convergence %s: exit %d, %q; want a usage error", strings.Join(args, " "), code, errs)
		}
	}
}

// TestDecisionsRemoveRevocationNeedsYes: ending a revocation trusts the notary again,
// so the terminal asks for --yes, as 'notary add' does for a revoked notary.
func TestDecisionsRemoveRevocationNeedsYes(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	e.mustRun("notary", "add", testnotary.Start(t, t.TempDir(), "Nordic", keys.KeyECDSA, 443))
	e.mustRun("notary", "revoke", "Nordic")
	id := regexp.MustCompile(`(?m)^(notary-[0-9a-f]{8}) `).FindStringSubmatch(e.mustRun("decisions", "list"))
	if id == nil {
		t.Fatal("no revocation listed")
	}
	code, _, errs := e.run("decisions", "remove", id[1])
	if code != 1 || !strings.Contains(errs, "trusts the notary again") || !strings.Contains(errs, "hint:") || !strings.Contains(errs, "--yes") {
		t.Fatalf("remove without --yes: exit %d, %q", code, errs)
	}
	if out := e.mustRun("notary", "list"); !strings.Contains(out, "revoked") {
		t.Fatalf("the notary was trusted again without --yes:\n%s", out)
	}
	if out := e.mustRun("decisions", "remove", id[1], "--yes"); !strings.Contains(out, "trusted and asked again") {
		t.Errorf("remove --yes: %q", out)
	}
	if out := e.mustRun("notary", "list"); strings.Contains(out, "revoked") {
		t.Errorf("still revoked after remove --yes:\n%s", out)
	}
}

// TestDecisionsPassthrough: 'decisions passthrough HOST:PORT' makes a decision the
// list shows with its cost, for that exact host:port; remove ends it.
func TestDecisionsPassthrough(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	if out := e.mustRun("decisions", "passthrough", "Bank.Example:8443"); !strings.Contains(out, "verifying bank.example:8443 without reading") || !strings.Contains(out, "TLS 1.3") {
		t.Errorf("decisions passthrough: %q", out)
	}
	out := e.mustRun("decisions", "list")
	for _, want := range []string{"Verify bank.example:8443 without reading",
		"With TLS 1.3 Convergence checks the certificate it sees itself, not the one your app receives; an attacker who can tell the two connections apart could show them different certificates.",
		"you chose it, from the terminal"} {
		if !strings.Contains(out, want) {
			t.Errorf("decisions list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "bank.example:443 ") {
		t.Errorf("a decision for :8443 shows up for :443:\n%s", out)
	}
	id := regexp.MustCompile(`(?m)^(pass-[0-9a-f]{8}) `).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no passthrough ID in:\n%s", out)
	}
	if out := e.mustRun("decisions", "remove", id[1]); !strings.Contains(out, "intercepted and checked again") {
		t.Errorf("decisions remove: %q", out)
	}
	if out := e.mustRun("decisions", "list"); strings.Contains(out, "without reading") {
		t.Errorf("still listed after remove:\n%s", out)
	}
	if code, _, errs := e.run("decisions", "passthrough", "bank.example:0"); code != 2 || !strings.Contains(errs, "convergence: error:") {
		t.Errorf("bad port: exit %d, %q; want a usage error", code, errs)
	}
}
