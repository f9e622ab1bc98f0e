package cli

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nssNicknames lists the nicknames in the NSS database at dir, with the real certutil.
func nssNicknames(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "certutil", "-L", "-d", "sql:"+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("certutil -L: %v\n%s", err, out)
	}
	return string(out)
}

// TestCATrustStores drives 'ca install', 'ca regenerate' and 'ca uninstall' on a real
// NSS database (certutil) in a temporary home.
func TestCATrustStores(t *testing.T) {
	if _, err := exec.LookPath("certutil"); err != nil {
		t.Skip("certutil not installed (libnss3-tools)")
	}
	e := cliEnv{t: t, dir: t.TempDir()}
	db := filepath.Join(e.home(), ".pki", "nssdb")

	out := e.mustRun("ca", "install")
	if !strings.Contains(out, "installed in Browser database "+db) {
		t.Fatalf("ca install: %s", out)
	}
	first := nssNicknames(t, db)
	if !strings.Contains(first, "Convergence Local CA ") || !strings.Contains(first, "C,,") {
		t.Fatalf("after ca install: %s", first)
	}
	if out := e.mustRun("ca", "install"); !strings.Contains(out, "installed in") {
		t.Errorf("ca install again: %s", out)
	}

	out = e.mustRun("ca", "regenerate")
	if !strings.Contains(out, "new local CA") || !strings.Contains(out, "replaced the old one in Browser database "+db) {
		t.Fatalf("ca regenerate: %s", out)
	}
	second := nssNicknames(t, db)
	if strings.Count(second, "Convergence Local CA ") != 1 || second == first {
		t.Fatalf("after ca regenerate, want the new CA alone:\nbefore %s\nafter %s", first, second)
	}

	if out := e.mustRun("ca", "uninstall"); !strings.Contains(out, "removed from Browser database "+db) {
		t.Fatalf("ca uninstall: %s", out)
	}
	if left := nssNicknames(t, db); strings.Contains(left, "Convergence") {
		t.Fatalf("after ca uninstall: %s", left)
	}
	if out := e.mustRun("ca", "uninstall"); !strings.Contains(out, "in no trust store") {
		t.Errorf("ca uninstall again: %s", out)
	}
	if out := e.mustRun("ca", "regenerate"); !strings.Contains(out, "'convergence ca install'") {
		t.Errorf("ca regenerate of a CA in no store: %s", out)
	}
}

// TestCAStoresLeft: a store the command cannot change fails the command, with the
// command to run and a hint.
func TestCAStoresLeft(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	t.Setenv("PATH", t.TempDir()) // no certutil
	code, out, errs := e.run("ca", "install")
	if code != 1 || !strings.Contains(out, "not installed in Browser database") || !strings.Contains(out, "  run: ") ||
		!strings.Contains(out, "certutil -A") || !strings.Contains(errs, "hint: run the commands printed above") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}
