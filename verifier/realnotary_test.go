package verifier

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// startRealNotary runs the project's notary in-process on loopback (internal/testsupport/testnotary)
// and returns the path of its bundle file.
func startRealNotary(t *testing.T, dir, name, keyType string, sitePort int) string {
	t.Helper()
	return testnotary.Start(t, dir, name, keyType, sitePort)
}

// realNotaryBundle runs the project's notary (probing nothing) and returns its bundle,
// as read and parsed: for the tests that need a real notary's bundle and no scripted
// answers (scriptednotary_test.go has those).
func realNotaryBundle(t *testing.T, name string) ([]byte, protocol.Bundle) {
	t.Helper()
	raw, err := os.ReadFile(startRealNotary(t, t.TempDir(), name, keys.KeyECDSA, 1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, b
}

// TestRealNotaries asks the project's own notaries (ECDSA and RSA keys, the latter
// signing v2 with its separate key) about a real TLS site on loopback.
func TestRealNotaries(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{})
	key, cert := newKeyCert(t, "site.test")
	site := httptest.NewUnstartedServer(http.NotFoundHandler())
	site.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}}
	site.StartTLS()
	t.Cleanup(site.Close)
	port := site.Listener.Addr().(*net.TCPAddr).Port

	for i, kt := range []string{keys.KeyECDSA, keys.KeyECDSA, keys.KeyRSA} {
		path := startRealNotary(t, e.dir, "real"+string(rune('a'+i)), kt, port)
		if _, err := e.v.ImportBundle(e.ctx, path, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tg := Target{Host: "site.test", Port: port}
	vd, err := e.v.Verify(e.ctx, tg, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	for _, a := range vd.Answers {
		if a.Kind == AnswerAgree && a.Protocol != 2 {
			t.Errorf("%s agreed in protocol %d, want 2", a.Notary, a.Protocol)
		}
		if a.Kind != AnswerAgree && a.Kind != AnswerNotAsked {
			t.Errorf("%s: %s %q", a.Notary, a.Kind, a.Err)
		}
	}
	// An attacker's certificate for the same site: the notaries see the real one.
	bad, err := e.v.Verify(e.ctx, tg, []*x509.Certificate{e.fake})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, bad, OutcomeRejected, SourceNotaries)
	if bad.Agreed != 0 || !bad.Disagreement() {
		t.Errorf("agreed %d, disagreement %v: %+v", bad.Agreed, bad.Disagreement(), bad.Answers)
	}
}
