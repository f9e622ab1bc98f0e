package cli

import (
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
)

// TestNotaryAddKnownNameOtherKeys: a bundle with the name of a trusted notary but
// another key is shown beside the trusted one and changes nothing; --replace takes it.
func TestNotaryAddKnownNameOtherKeys(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	first := testnotary.Start(t, t.TempDir(), "twin", keys.KeyECDSA, 1)
	second := testnotary.Start(t, t.TempDir(), "twin", keys.KeyECDSA, 1) // same name, its own key and port
	e.mustRun("notary", "add", first)
	before := e.mustRun("notary", "list")
	again := e.mustRun("notary", "add", first) // the same bundle: a routine update
	if strings.Contains(again, "warning") {
		t.Fatalf("the same bundle again is warned about:\n%s", again)
	}

	code, out, errs := e.run("notary", "add", second)
	if code != 1 || !strings.Contains(out, "TRUSTED NOW") || !strings.Contains(out, "IN THIS BUNDLE") ||
		!strings.Contains(errs, "nothing was changed") || !strings.Contains(errs, "--replace") {
		t.Fatalf("known name, other key: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if after := e.mustRun("notary", "list"); after != before {
		t.Fatalf("the notary changed without --replace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	e.mustRun("notary", "add", second, "--replace")
	if after := e.mustRun("notary", "list"); after == before {
		t.Fatalf("--replace did not take the new hosts:\n%s", after)
	}
}
