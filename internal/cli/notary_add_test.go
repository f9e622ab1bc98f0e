package cli

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// webPKI is the certificate of the test's "publicly trusted" web server: TestMain adds
// it to the system roots through SSL_CERT_FILE (read by crypto/x509 on Unix but macOS,
// when the roots are first needed), so the verifier fetches bundle URLs over real HTTPS as it
// does from a real web site. Its test seam for the roots is unexported, and the
// httptest certificate must stay untrusted for TestNotaryRefresh.
var webPKI tls.Certificate

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cli-webpki-")
	if err != nil {
		log.Fatal(err)
	}
	// Self-signed for 127.0.0.1, and a root: the web server's certificate is its own CA.
	cert, err := testcerts.Make(testcerts.Options{CA: true, CommonName: "bundles.test"}, "127.0.0.1")
	if err != nil {
		log.Fatal(err)
	}
	webPKI = cert.TLS()
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, cert.PEM(), 0o600); err != nil {
		log.Fatal(err)
	}
	os.Setenv("SSL_CERT_FILE", roots)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serveBundle runs a real notary and serves its bundle on a trusted HTTPS server, as
// a notary's web site does; it returns the bundle's URL and what it says.
func serveBundle(t *testing.T, name, keyType string) (url string, b protocol.Bundle) {
	t.Helper()
	raw, err := os.ReadFile(testnotary.Start(t, t.TempDir(), name, keyType, 1))
	if err != nil {
		t.Fatal(err)
	}
	if b, err = protocol.ParseBundle(raw); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(raw)
	}))
	web.Config.ErrorLog = log.New(io.Discard, "", 0)
	web.TLS = &tls.Config{Certificates: []tls.Certificate{webPKI}}
	web.StartTLS()
	t.Cleanup(web.Close)
	return web.URL + "/.well-known/" + name + ".notary", b
}

// sha256Of is the test's own fingerprint of a pinned certificate (not the code's).
func sha256Of(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// colons writes a lowercase hex fingerprint as uppercase colon-separated bytes.
func colons(fp string) string {
	var parts []string
	for i := 0; i < len(fp); i += 2 {
		parts = append(parts, strings.ToUpper(fp[i:i+2]))
	}
	return strings.Join(parts, ":")
}

// TestNotaryAddURL: a bundle fetched over the web PKI is shown and trusted only with
// --fingerprint naming one of its certificates, or --yes.
func TestNotaryAddURL(t *testing.T) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("the system roots come from the OS here, not SSL_CERT_FILE (see webPKI)")
	}
	e := cliEnv{t: t, dir: t.TempDir()}
	url, b := serveBundle(t, "webby", keys.KeyECDSA)
	fp := sha256Of(b.Hosts[0].Certificate)
	host := fmt.Sprintf("127.0.0.1:%d", b.Hosts[0].SSLPort)
	listed := func(name string) bool {
		t.Helper()
		return strings.Contains(e.mustRun("notary", "list"), name)
	}

	// No flag: the preview, nothing imported, a hint naming both flags.
	code, out, errs := e.run("notary", "add", url)
	if code != 1 {
		t.Errorf("URL without a flag: exit %d, want 1", code)
	}
	for _, want := range []string{`notary "webby"`, url, host, "certificate sha256 " + fp, "v2 signing key"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "nothing was added") || !strings.Contains(errs, "hint: ") ||
		!strings.Contains(errs, "--fingerprint") || !strings.Contains(errs, "--yes") {
		t.Errorf("URL without a flag: stderr %q, want an error and a hint naming --fingerprint and --yes", errs)
	}
	if strings.Contains(out, "added notary") || listed("webby") {
		t.Fatalf("URL without a flag imported the notary:\n%s", out)
	}

	// A fingerprint of another certificate: refused, nothing imported.
	other := strings.Repeat("ab", 32)
	code, out, errs = e.run("notary", "add", url, "--fingerprint", other)
	if code != 1 || !strings.Contains(errs, "matches none of the certificates") || !strings.Contains(errs, "hint: ") {
		t.Errorf("wrong --fingerprint: exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, fp) || listed("webby") {
		t.Fatalf("wrong --fingerprint: imported, or the preview lacks the fingerprint:\n%s", out)
	}

	// Not a fingerprint at all: a usage error.
	if code, _, errs := e.run("notary", "add", url, "--fingerprint", "12:34"); code != 2 || !strings.Contains(errs, "64 hex digits") {
		t.Errorf("malformed --fingerprint: exit %d, stderr %q", code, errs)
	}

	// The right one, uppercase with colons, in the --flag=value form: imported.
	out = e.mustRun("notary", "add", "--fingerprint="+colons(fp), url)
	if !strings.Contains(out, fp) || !strings.Contains(out, `added notary "webby"`) || !listed("webby") {
		t.Errorf("right --fingerprint:\n%s", out)
	}

	// --yes trusts what is shown; an RSA notary shows its separate v2 signing key.
	url2, b2 := serveBundle(t, "rsa-web", keys.KeyRSA)
	out = e.mustRun("notary", "add", url2, "--yes")
	if !strings.Contains(out, "certificate sha256 "+sha256Of(b2.Hosts[0].Certificate)) || !strings.Contains(out, "RSA key") {
		t.Errorf("--yes preview lacks the RSA certificate:\n%s", out)
	}
	block, _ := pem.Decode([]byte(b2.V2.SigningKey))
	sum := sha256.Sum256(block.Bytes)
	if !strings.Contains(out, "key sha256 "+hex.EncodeToString(sum[:])) {
		t.Errorf("--yes preview lacks the v2 signing key:\n%s", out)
	}
	if !strings.Contains(out, `added notary "rsa-web"`) || !listed("rsa-web") {
		t.Errorf("--yes did not import:\n%s", out)
	}

	// Revoked, then offered again with its fingerprint: --yes is still what trusts a
	// revoked notary again.
	e.mustRun("notary", "revoke", "webby")
	code, _, errs = e.run("notary", "add", url, "--fingerprint", fp)
	if code != 1 || !strings.Contains(errs, "revoked") || !strings.Contains(errs, "--yes") {
		t.Errorf("revoked notary with --fingerprint only: exit %d, stderr %q", code, errs)
	}
	e.mustRun("notary", "add", url, "--fingerprint", fp, "--yes")
	if out := e.mustRun("notary", "list"); strings.Contains(out, "revoked") {
		t.Errorf("--fingerprint --yes did not trust the revoked notary again:\n%s", out)
	}
}

// TestNotaryAddFile: a local .notary file needs no flag (the user chose the file) and
// shows what it pinned; --fingerprint is checked for files too.
func TestNotaryAddFile(t *testing.T) {
	e := cliEnv{t: t, dir: t.TempDir()}
	path := testnotary.Start(t, t.TempDir(), "local", keys.KeyECDSA, 1)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	fp := sha256Of(b.Hosts[0].Certificate)

	code, _, errs := e.run("notary", "add", path, "--fingerprint", strings.Repeat("0", 64))
	if code != 1 || !strings.Contains(errs, "matches none") {
		t.Errorf("file with a wrong --fingerprint: exit %d, stderr %q", code, errs)
	}
	if out := e.mustRun("notary", "list"); strings.Contains(out, "local") {
		t.Fatalf("file with a wrong --fingerprint was imported:\n%s", out)
	}
	out := e.mustRun("notary", "add", path)
	if !strings.Contains(out, "certificate sha256 "+fp) || !strings.Contains(out, `added notary "local"`) ||
		!strings.Contains(out, "the certificate keys above") {
		t.Errorf("notary add FILE:\n%s", out)
	}
}

// TestNotaryAddFromNotarysOwnURL: a notary serves its bundle at its own address over
// its own self-signed certificate (convergence-notary serve). Without --fingerprint the
// fetch fails, with a hint naming --fingerprint; with the fingerprint the operator
// published (its certificate's, which the bundle pins) it is fetched and added; with
// another fingerprint nothing is read. Before issue 19 every such add failed with Go's
// "x509: certificate signed by unknown authority" and no hint.
func TestNotaryAddFromNotarysOwnURL(t *testing.T) {
	raw, err := os.ReadFile(testnotary.Start(t, t.TempDir(), "selfie", keys.KeyECDSA, 1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("https://127.0.0.1:%d%s", b.Hosts[0].SSLPort, protocol.WellKnownBundlePath)
	fp := sha256Of(b.Hosts[0].Certificate)
	e := cliEnv{t: t, dir: t.TempDir()}

	code, out, errs := e.run("notary", "add", url)
	if code != ExitFailure || !strings.Contains(errs, "not signed by a certificate authority") ||
		!strings.Contains(errs, "hint: ") || !strings.Contains(errs, "--fingerprint") || strings.Contains(errs, "x509:") {
		t.Errorf("add without --fingerprint: exit %d\nstdout: %s\nstderr: %s\nwant exit 1, one line naming the untrusted certificate and a hint naming --fingerprint", code, out, errs)
	}
	other := strings.Repeat("ab", 32)
	code, _, errs = e.run("notary", "add", url, "--fingerprint", other)
	if code != ExitFailure || !strings.Contains(errs, "not the one the fingerprint names") || !strings.Contains(errs, "hint: ") {
		t.Errorf("add with another fingerprint: exit %d, stderr %s", code, errs)
	}
	if out := e.mustRun("notary", "list"); strings.Contains(out, "selfie") {
		t.Fatalf("a failed add added the notary:\n%s", out)
	}
	if out := e.mustRun("notary", "add", url, "--fingerprint", colons(fp)); !strings.Contains(out, `added notary "selfie"`) {
		t.Errorf("add with the notary's fingerprint says %q", out)
	}
	if out := e.mustRun("notary", "list"); !strings.Contains(out, "selfie") {
		t.Errorf("the notary added from its own URL is not listed:\n%s", out)
	}
}
