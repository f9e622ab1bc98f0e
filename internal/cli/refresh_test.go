package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/verifier"
)

// TestNotaryRefresh runs 'notary refresh' the way the binary does. The verifier trusts
// bundle URLs only through the system roots here (its test seam is unexported), so a
// refresh over the network can only fail in this package: the notary's location is a
// real loopback HTTPS server whose certificate no system root signed. The successful
// paths are covered in verifier/refresh_test.go; their printing is checked below.
func TestNotaryRefresh(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	if out := e.mustRun("notary", "refresh"); !strings.Contains(out, "no notaries to refresh") {
		t.Errorf("refresh with no notaries says %q", out)
	}

	raw, location := testnotary.StartAtUntrustedLocation(t, "far")
	path := filepath.Join(t.TempDir(), "far.notary")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustRun("notary", "add", path)

	code, out, errs := e.run("notary", "refresh")
	if code != 1 {
		t.Errorf("refresh with a failing notary: exit %d, want 1", code)
	}
	if !strings.Contains(out, "far") || !strings.Contains(out, "failed") || !strings.Contains(out, location) ||
		!strings.Contains(out, "certificate") || !strings.Contains(out, "0 updated, 0 unchanged, 1 failed") {
		t.Errorf("refresh report:\n%s", out)
	}
	if !strings.HasPrefix(errs, "convergence: error: failed to refresh 1 of 1 notary bundles") {
		t.Errorf("stderr %q", errs)
	}
	if out := e.mustRun("notary", "list"); !strings.Contains(out, "far") || !strings.Contains(out, "enabled") {
		t.Errorf("the notary changed after a failed refresh:\n%s", out)
	}
	if code, _, _ := e.run("notary", "refresh", "now"); code != 2 {
		t.Errorf("notary refresh with an argument: exit %d, want 2", code)
	}
}

// TestPrintRefresh checks the lines for the outcomes a loopback refresh cannot reach
// from this package (see TestNotaryRefresh).
func TestPrintRefresh(t *testing.T) {
	var out bytes.Buffer
	printRefresh(&out, verifier.RefreshReport{Results: []verifier.RefreshResult{
		{Notary: "alpha", Location: "https://a.example/a.notary", Status: verifier.RefreshUpdated},
		{Notary: "beta", Location: "https://b.example/b.notary", Status: verifier.RefreshUnchanged},
		{Notary: "gamma", Location: "https://c.example/c.notary", Status: verifier.RefreshFailed,
			Err: errors.New(`bundle at "https://c.example/c.notary" now names notary "delta"`)},
	}})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := [][]string{
		{"NOTARY", "RESULT", "FROM", "DETAIL"},
		{"alpha", "updated", "https://a.example/a.notary"},
		{"beta", "unchanged", "https://b.example/b.notary"},
		{"gamma", "failed", "https://c.example/c.notary", `now names notary "delta"`},
		{"1 updated, 1 unchanged, 1 failed"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, parts := range want {
		for _, p := range parts {
			if !strings.Contains(lines[i], p) {
				t.Errorf("line %d %q lacks %q", i+1, lines[i], p)
			}
		}
	}
}
