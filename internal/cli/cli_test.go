package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/truststore"
)

// cliEnv runs commands on one data dir, the way the binary does.
type cliEnv struct {
	t   *testing.T
	dir string
}

func (e cliEnv) run(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Env{Stdout: &out, Stderr: &errb,
		Open: func(ctx context.Context, noCA bool) (*core.Core, error) {
			// The 'ca' commands change the NSS databases of a home beside the data dir,
			// never the machine's system store (the tests may run as root).
			return core.Open(ctx, core.Options{DataDir: e.dir, Listen: "127.0.0.1:0", NoCA: noCA,
				TrustHome: e.home(), TrustOnly: []truststore.Kind{truststore.NSS}})
		}})
	return code, out.String(), errb.String()
}

// home is the home directory whose browsers the 'ca' commands change.
func (e cliEnv) home() string { return e.dir + "-home" }

func (e cliEnv) mustRun(args ...string) string {
	e.t.Helper()
	code, out, errs := e.run(args...)
	if code != 0 {
		e.t.Fatalf("convergence %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// TestTerminalFace drives every command against three real notaries probing a real
// TLS site on loopback.
func TestTerminalFace(t *testing.T) {
	site := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(site.Close)
	port := site.Listener.Addr().(*net.TCPAddr).Port
	target := "127.0.0.1:" + strconv.Itoa(port)

	e := cliEnv{t: t, dir: t.TempDir()}
	ndir := t.TempDir()
	var bundles []string
	for _, name := range []string{"alpha", "beta", "gamma"} {
		bundles = append(bundles, testnotary.Start(t, ndir, name, keys.KeyECDSA, port))
	}

	if out := e.mustRun("notary", "list"); !strings.Contains(out, "no notaries yet") {
		t.Errorf("empty list says %q", out)
	}
	for _, b := range bundles {
		if out := e.mustRun("notary", "add", b); !strings.Contains(out, "added notary") {
			t.Errorf("notary add says %q", out)
		}
	}
	out := e.mustRun("notary", "list")
	for _, name := range []string{"alpha", "beta", "gamma"} {
		if !strings.Contains(out, name) {
			t.Errorf("notary list lacks %q:\n%s", name, out)
		}
	}

	// The notaries see the same certificate as we do: trusted, exit 0.
	out = e.mustRun("check", target)
	if !strings.Contains(out, "verdict: TRUSTED") {
		t.Fatalf("check of an honest site:\n%s", out)
	}
	if c := strings.Count(out, "agree"); c < 2 {
		t.Errorf("check shows %d agreeing notaries, want at least 2 (majority of 3):\n%s", c, out)
	}
	if out := e.mustRun("cache", "list"); !strings.Contains(out, target) {
		t.Errorf("cache list lacks the checked site:\n%s", out)
	}

	// Revoking two of three leaves one notary: a majority of one still agrees; with
	// "all" and the threshold raised past what is left, the site is rejected.
	e.mustRun("notary", "revoke", "alpha")
	e.mustRun("notary", "revoke", "beta")
	if out := e.mustRun("notary", "list"); strings.Count(out, "revoked") != 2 {
		t.Errorf("list after two revocations:\n%s", out)
	}
	e.mustRun("set", "threshold", "2-of-N")
	code, out, _ := e.run("check", target)
	if code != 1 || !strings.Contains(out, "verdict: REJECTED") {
		t.Errorf("check with 1 notary left and 2 needed: exit %d\n%s", code, out)
	}

	// Re-importing a revoked notary asks first; --yes trusts it again.
	code, _, errs := e.run("notary", "add", bundles[0])
	if code != 1 || !strings.Contains(errs, "--yes") {
		t.Errorf("re-import of a revoked notary: exit %d, stderr %q", code, errs)
	}
	e.mustRun("notary", "add", bundles[0], "--yes")
	if out := e.mustRun("check", target); !strings.Contains(out, "verdict: TRUSTED") {
		t.Errorf("check after re-trusting alpha (2 of 2 needed):\n%s", out)
	}

	if out := e.mustRun("cache", "clear"); !strings.Contains(out, "cleared") {
		t.Errorf("cache clear says %q", out)
	}
	if out := e.mustRun("cache", "list"); strings.Contains(out, target) {
		t.Errorf("cache still lists the site after clear:\n%s", out)
	}

	pemOut := e.mustRun("ca", "export")
	blk, _ := pem.Decode([]byte(pemOut))
	if blk == nil {
		t.Fatalf("ca export printed no PEM: %q", pemOut)
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("ca export: not a CA certificate (%v)", err)
	}
	if out := e.mustRun("settings"); !strings.Contains(out, "2-of-N") {
		t.Errorf("settings do not show the threshold set:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	for _, args := range [][]string{
		{"check"},
		{"check", "host:99999"},
		{"notary"},
		{"notary", "frobnicate"},
		{"set", "threshold", "most"},
		{"set", "nonsense", "1"},
		{"set", "cache-ttl", "forever"},
		{"cache", "clear", "a", "b"},
	} {
		code, _, errs := e.run(args...)
		if code != 2 || !strings.HasPrefix(errs, "convergence: error: ") || !strings.Contains(errs, "hint: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 with an error and a hint", args, code, errs)
		}
	}
	code, _, errs := e.run("notary", "add", "/nonexistent/x.notary")
	if code != 1 || !strings.Contains(errs, "x.notary") {
		t.Errorf("missing bundle file: exit %d, stderr %q", code, errs)
	}
	code, _, errs = e.run("check", "127.0.0.1:1")
	if code != 1 || !strings.Contains(errs, "127.0.0.1:1") {
		t.Errorf("unreachable site: exit %d, stderr %q", code, errs)
	}
}
