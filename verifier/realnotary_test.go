package verifier

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/server"
	"github.com/convergence-ng/convergence/notary/store"
)

// loopbackResolver answers every name with 127.0.0.1: test names have no DNS, and the
// tests may reach nothing but loopback. It is the only stand-in in these tests.
type loopbackResolver struct{}

func (loopbackResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// startRealNotary runs the project's notary (notary/server, its SQLite store and
// prober) in-process on a loopback listener, allowed to probe loopback sites on
// sitePort, and returns the path of its bundle file.
func startRealNotary(t *testing.T, dir, name, keyType string, sitePort int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ndir := filepath.Join(dir, name)
	id, err := keys.LoadOrCreate(ndir, keyType, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(ndir, "notary.db"))
	if err != nil {
		t.Fatal(err)
	}
	prober := probe.New(probe.Config{
		Policy:   &probe.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Ports: []int{sitePort}},
		Resolver: loopbackResolver{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := id.Bundle(keys.BundleOptions{Name: name, Hosts: []string{"127.0.0.1"}, SSLPort: ln.Addr().(*net.TCPAddr).Port})
	if err != nil {
		t.Fatal(err)
	}
	data, err := protocol.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := server.NewHandler(server.HandlerConfig{
		Notary:   server.New(server.Config{Store: st, Prober: prober}),
		Identity: id, Bundle: data, Name: name, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, ln, server.ServeConfig{Handler: h, Certificate: id.TLS, Logger: quiet})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("notary %q: %v", name, err)
		}
		st.Close()
	})
	path := filepath.Join(dir, name+".notary")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
