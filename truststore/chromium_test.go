package truststore

import (
	"crypto/rand"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
)

// TestChromiumReadsWhatIsDone: the database Install calls done is the one Chromium
// trusts. Real headless Chromium, given the test's home as its HOME, shows nothing of a
// site whose certificate the CA issued before the install (so the check can fail),
// loads it after, and refuses it again after Uninstall.
func TestChromiumReadsWhatIsDone(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	needCertutil(t)
	ca := testcerts.NewCA(t, "truststore chromium CA "+rand.Text())
	const marker = "served-by-the-test-site"
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<html><body>"+marker+"</body></html>")
	}))
	site.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, testcerts.Options{}, "127.0.0.1").TLS()}}
	site.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	site.StartTLS()
	t.Cleanup(site.Close)

	home := t.TempDir()
	loads := func(when string) bool {
		t.Helper()
		// A profile and XDG dirs of its own for each run: nothing is remembered between
		// runs, and nothing is written outside the test's directories.
		scratch := t.TempDir()
		cmd := exec.CommandContext(ctxT(t), bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-breakpad",
			"--user-data-dir="+filepath.Join(scratch, "profile"), "--dump-dom", site.URL)
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(scratch, "config"), "XDG_CACHE_HOME="+filepath.Join(scratch, "cache"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %s (%s): %v", site.URL, when, err)
		}
		return strings.Contains(string(out), marker)
	}
	if loads("before the install") {
		t.Fatal("Chromium loaded the site before the CA was installed: this test cannot tell trusted from not")
	}
	o := Options{CAPEM: ca.PEM(), CAFile: filepath.Join(t.TempDir(), "ca.pem"), Home: home, Only: []Kind{NSS}}
	res, err := Install(ctxT(t), o)
	mustDone(t, "install", res, err, 1)
	if !loads("after the install") {
		t.Fatalf("Chromium did not load the site after %s was done: %+v", res[0].Store, res[0])
	}
	res, err = Uninstall(ctxT(t), o)
	mustDone(t, "uninstall", res, err, 1)
	if loads("after the uninstall") {
		t.Fatal("Chromium still loads the site after the uninstall")
	}
}
