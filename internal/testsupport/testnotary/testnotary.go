// Package testnotary runs the project's own notary server in-process on loopback for
// tests in other packages: the real handler, SQLite store and prober, nothing faked.
package testnotary

import (
	"context"
	"io"
	"log"
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

// loopbackResolver answers every name with 127.0.0.1: test names have no DNS, and
// tests may reach nothing but loopback.
type loopbackResolver struct{}

func (loopbackResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// Start runs a notary named name with a key of keyType (keys.KeyECDSA or keys.KeyRSA)
// on 127.0.0.1, allowed to probe loopback sites on sitePort, until the test ends. It
// returns the path of the notary's .notary bundle, written under dir.
func Start(t testing.TB, dir, name, keyType string, sitePort int) string {
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
	go func() { // ends when the test's cleanup cancels ctx
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

// StartAtUntrustedLocation runs a notary as Start does (probing nothing: site port 1)
// and returns its bundle with a bundle_location on a real loopback HTTPS server whose
// certificate no system root signed, so that every refresh of it fails, and that URL.
func StartAtUntrustedLocation(t testing.TB, name string) (bundle []byte, location string) {
	t.Helper()
	web := httptest.NewUnstartedServer(http.NotFoundHandler())
	web.Config.ErrorLog = log.New(io.Discard, "", 0)
	web.StartTLS()
	t.Cleanup(web.Close)
	raw, err := os.ReadFile(Start(t, t.TempDir(), name, keys.KeyECDSA, 1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.BundleLocation = web.URL + "/" + name + ".notary"
	if raw, err = protocol.MarshalBundle(b); err != nil {
		t.Fatal(err)
	}
	return raw, b.BundleLocation
}
