package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runApp runs the real app binary with args under env (added to this process's, with
// LANG=C.UTF-8 as on a fresh Debian container) and returns its exit status and output.
// It is bounded: a run that does not end within two minutes fails the test.
func runApp(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.app, args...)
	cmd.Env = append(append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=", "LANGUAGE="), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("convergence %s did not end within 2 minutes\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errb.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("convergence %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

// TestDemoHeadless runs 'convergence --headless demo' as 'make demo' does on a machine
// with no display: three real notaries, the honest site and the attacked one on
// loopback, the app on a throw-away data dir. The honest site must come out trusted
// with its page loaded, the attacked one rejected with the block page and the alert;
// each verdict is logged once; the throw-away dir is gone afterwards. No root needed.
func TestDemoHeadless(t *testing.T) {
	tmp := t.TempDir()
	code, out, errs := runApp(t, []string{"TMPDIR=" + tmp, "DISPLAY=", "WAYLAND_DISPLAY="}, "--headless", "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	honest, attacked, ok := strings.Cut(out, "attacked.demo.test:")
	if !ok || !strings.Contains(honest, "honest.demo.test:") {
		t.Fatalf("demo output names not both sites, honest first:\n%s", out)
	}
	for _, want := range []string{"verdict: TRUSTED: ", "loaded: HTTP 200", "every notary sees the certificate you see"} {
		if !strings.Contains(honest, want) {
			t.Errorf("the honest site's report lacks %q:\n%s", want, honest)
		}
	}
	for _, want := range []string{"verdict: REJECTED: ", "blocked: the browser got the proxy's block page (HTTP 403)", "alert: ", "impersonating the site"} {
		if !strings.Contains(attacked, want) {
			t.Errorf("the attacked site's report lacks %q:\n%s", want, attacked)
		}
	}
	if strings.Contains(out, "impostor of") {
		t.Errorf("the impostor's page reached the browser:\n%s", out)
	}
	for _, site := range []string{"honest.demo.test", "attacked.demo.test"} {
		n := 0
		for _, line := range strings.Split(errs, "\n") {
			if strings.Contains(line, "msg=verdict") && strings.Contains(line, site) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d verdict lines for %s on the terminal, want 1:\n%s", n, site, errs)
		}
	}
	if strings.Contains(errs, "Fyne error") {
		t.Errorf("Fyne logged an error under LANG=C.UTF-8:\n%s", errs)
	}
	left, err := filepath.Glob(filepath.Join(tmp, "convergence-demo-*"))
	if err != nil || len(left) > 0 {
		t.Errorf("the demo left %v behind (%v)", left, err)
	}
}

// TestTerminalSpeaksClearly runs the real binary for each rule of internal/cli/tui.go
// that issue 19 found broken: the exit status, one error line and one hint, no usage
// dumped for a bad flag, no Go-internal wording, no doubled message, the flags in
// 'help', no Fyne locale error under LANG=C.UTF-8, and 'proxy listening' only once
// the listen succeeded.
func TestTerminalSpeaksClearly(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	env := []string{"CONVERGENCE_HOME=" + data}
	notBundle := filepath.Join(tmp, "hostname.notary")
	if err := os.WriteFile(notBundle, []byte("vm-1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		code    int
		errHas  string   // in the error line
		hintHas string   // in the hint line
		never   []string // anywhere in the output
	}{
		{[]string{"set", "listen", "192.0.2.1:8118"}, 2, "not a loopback address", "'convergence settings' lists", nil},
		{[]string{"set", "max-notaries", "-1"}, 2, "max notaries is negative", "'convergence settings' lists", nil},
		{[]string{"set", "max-notaries", "many"}, 2, `not "many"`, "'convergence settings' lists", nil},
		{[]string{"set", "colour", "blue"}, 2, `unknown setting "colour"`, "'convergence settings' lists", nil},
		{[]string{"--bogus=1"}, 2, `unknown flag "--bogus"`, "convergence help", []string{"usage:", "commands:"}},
		{[]string{"check", "--verbose", "example.com"}, 2, `unknown flag "--verbose" for check`, "convergence help", []string{"usage:"}},
		{[]string{"frob"}, 2, `unknown command "frob"`, "convergence help", nil},
		{[]string{"cache", "clear", "a:b:c"}, 2, `"a:b:c" is not a host name`, "convergence help", []string{"malformed input"}},
		{[]string{"notary", "revoke", "nobody"}, 1, `failed to revoke notary "nobody": not found`, "notary list", nil},
		{[]string{"notary", "add", notBundle}, 1, "not JSON", "not a .notary bundle", []string{"invalid character", "looking for beginning"}},
		{[]string{"--data-dir", aFile, "settings"}, 1, "data dir", "--data-dir", nil},
		{[]string{"demo", "now"}, 2, "demo takes no arguments", "convergence help", nil},
		{[]string{"check", "127.0.0.1:1"}, 1, `failed to check "127.0.0.1:1"`, "nothing answers at that address and port", nil},
	} {
		name := strings.Join(tc.args, " ")
		code, out, errs := runApp(t, env, tc.args...)
		lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
		if code != tc.code || len(lines) != 2 || !strings.HasPrefix(lines[0], "convergence: error: ") || !strings.HasPrefix(lines[1], "hint: ") ||
			!strings.Contains(lines[0], tc.errHas) || !strings.Contains(lines[1], tc.hintHas) {
			t.Errorf("convergence %s: exit %d, stderr:\n%s\nwant exit %d, an error line with %q and a hint line with %q", name, code, errs, tc.code, tc.errHas, tc.hintHas)
			continue
		}
		for _, bad := range append(tc.never, "Fyne error") {
			if strings.Contains(out+errs, bad) {
				t.Errorf("convergence %s says %q:\n%s%s", name, bad, out, errs)
			}
		}
		if first := lines[0]; strings.Count(first, "failed to") > 1 && strings.Count(first, tc.errHas) > 1 {
			t.Errorf("convergence %s doubles its message: %s", name, first)
		}
		if strings.Count(errs, "--data-dir") > 1 {
			t.Errorf("convergence %s gives the data-dir fix twice:\n%s", name, errs)
		}
	}

	for _, args := range [][]string{{"help"}, {"--help"}, {"notary", "list", "--help"}} {
		code, out, errs := runApp(t, env, args...)
		if code != 0 || errs != "" {
			t.Errorf("convergence %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
		}
		for _, flag := range []string{"-data-dir", "-headless", "-listen", "-background", "-version", "demo"} {
			if !strings.Contains(out, flag) {
				t.Errorf("convergence %s does not list %q:\n%s", strings.Join(args, " "), flag, out)
			}
		}
	}

	// A port already taken: the proxy cannot listen, so it must not say it does.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	code, _, errs := runApp(t, env, "--headless", "--listen", busy.Addr().String())
	if code != 1 || strings.Contains(errs, "proxy listening") || !strings.Contains(errs, "convergence: error: failed to listen on") ||
		!strings.Contains(errs, "hint: another program") {
		t.Errorf("headless on a busy port: exit %d, stderr:\n%s\nwant exit 1, no 'proxy listening', the error and its hint", code, errs)
	}
}
