package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/unwritable"
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
	if !strings.Contains(out, "installed in Chromium/Chrome database "+db+": verified: certutil -L -n ") {
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
	if !strings.Contains(out, "new local CA") || !strings.Contains(out, "replaced the old one in Chromium/Chrome database "+db) {
		t.Fatalf("ca regenerate: %s", out)
	}
	second := nssNicknames(t, db)
	if strings.Count(second, "Convergence Local CA ") != 1 || second == first {
		t.Fatalf("after ca regenerate, want the new CA alone:\nbefore %s\nafter %s", first, second)
	}

	if out := e.mustRun("ca", "uninstall"); !strings.Contains(out, "removed from Chromium/Chrome database "+db) {
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
	if code != 1 || !strings.Contains(out, "not installed in Chromium/Chrome database") || !strings.Contains(out, "  run: ") ||
		!strings.Contains(out, "certutil -A") || !strings.Contains(errs, "hint: run the commands printed above") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

// TestCAInstallOneStoreFails: a Firefox profile whose database cannot be written (made
// immutable: the tests run as root, whom file modes do not stop) beside Chromium's: one
// line per store, the failed one with its reason and the command, exit 1 and the hint;
// certutil agrees with each line.
func TestCAInstallOneStoreFails(t *testing.T) {
	if _, err := exec.LookPath("certutil"); err != nil {
		t.Skip("certutil not installed (libnss3-tools)")
	}
	e := cliEnv{t: t, dir: t.TempDir()}
	profile := filepath.Join(e.home(), ".mozilla", "firefox", "abcd.default-release")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("certutil", "-N", "-d", "sql:"+profile, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v %s", err, out)
	}
	unwritable.Dir(t, profile)
	code, out, errs := e.run("ca", "install")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	chromium := filepath.Join(e.home(), ".pki", "nssdb")
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errs)
	if code != 1 || len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "installed in Chromium/Chrome database "+chromium+": verified: certutil -L -n ") ||
		!strings.HasSuffix(lines[0], "; restart Chromium or Chrome if it is open") ||
		!strings.HasPrefix(lines[1], "not installed in Firefox database "+profile+": failed to add ") ||
		!strings.Contains(lines[1], "this user cannot write it: it is read-only") ||
		!strings.HasPrefix(lines[2], "  run: certutil -A -d sql:"+profile) ||
		!strings.Contains(errs, "convergence: error: failed to change 1 of 2 trust stores") || !strings.Contains(errs, "hint: ") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if !strings.Contains(nssNicknames(t, chromium), "Convergence Local CA ") || strings.Contains(nssNicknames(t, profile), "Convergence") {
		t.Errorf("certutil disagrees:\n%s\n%s", nssNicknames(t, chromium), nssNicknames(t, profile))
	}
}
