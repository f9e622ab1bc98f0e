package ui

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/truststore"
	"github.com/convergence-ng/convergence/verifier"
)

// storeBackend is the real application (core.Core) on a data dir in t.TempDir(), with
// a real store, verifier and local CA, installing it with real certutil into a browser
// database in a home of its own (never the system store: that would change this
// machine). Only the certificates the proxy remembers are simulated (no proxy runs
// here: Certificate). It also records the calls the tests look for.
type storeBackend struct {
	*core.Core
	store *settings.Store // the application's store, for the tests to look into

	mu    sync.Mutex // protects certs, calls
	certs map[string]*x509.Certificate
	calls []string
}

func newStoreBackend(t testing.TB) *storeBackend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The keyring is the terminal's and the app's concern; a key in memory keeps the
	// tests off the session's keyring. The proxy is built but never listens.
	c, err := core.Open(ctx, core.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:8118", Secrets: settings.NewMemorySecrets(),
		TrustHome: t.TempDir(), TrustOnly: []truststore.Kind{truststore.NSS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &storeBackend{Core: c, store: c.Store, certs: map[string]*x509.Certificate{}}
}

func (b *storeBackend) record(call string) {
	b.mu.Lock()
	b.calls = append(b.calls, call)
	b.mu.Unlock()
}

func (b *storeBackend) ImportBundle(ctx context.Context, raw []byte, src string, confirmRevoked bool) (settings.Notary, error) {
	b.record(fmt.Sprintf("import %s confirm=%v", filepath.Base(src), confirmRevoked))
	return b.Core.ImportBundle(ctx, raw, src, confirmRevoked)
}

// importFile trusts the bundle file at path, as the terminal face does; for tests
// that start with notaries.
func (b *storeBackend) importFile(t *testing.T, path string) {
	t.Helper()
	raw, _, err := b.PreviewBundle(ctxT(t), path)
	if err == nil {
		_, err = b.Core.ImportBundle(ctxT(t), raw, path, false)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// addHistory writes events to the application's history, as an earlier run did.
func (b *storeBackend) addHistory(t *testing.T, evs ...verifier.Event) {
	t.Helper()
	rows := make([]settings.Event, len(evs))
	for i, ev := range evs {
		rows[i] = core.HistoryEvent(ev)
	}
	if err := b.store.AddEvents(ctxT(t), rows); err != nil {
		t.Fatal(err)
	}
}

// Certificate is simulated: the application keeps the certificates its proxy checks,
// and no proxy runs in these tests; the tests hand them in through certs.
func (b *storeBackend) Certificate(_ context.Context, fp string) (*x509.Certificate, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.certs[fp]; c != nil {
		return c, nil
	}
	return nil, settings.ErrNotFound
}

// selfSigned returns a fresh self-signed certificate for name.
func selfSigned(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	return testcerts.SelfSigned(t, name).Cert
}

// writeBundle writes a valid .notary file for a notary with one host and returns its path.
func writeBundle(t testing.TB, dir, name, host string) string {
	t.Helper()
	c := selfSigned(t, host)
	data, err := protocol.MarshalBundle(protocol.Bundle{Version: 1, Name: name, Region: "DE",
		Hosts: []protocol.BundleHost{{Host: host, SSLPort: 443, HTTPPort: 80,
			CertificatePEM: string(testcerts.PEM(c))}}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".notary")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
