package ui

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// storeBackend implements Backend over the real parts: a settings.Store in
// t.TempDir(), a verifier.Verifier on that store, and a real local CA. Only what
// cannot run in a unit test is simulated, each with a note: the proxy's listener
// (Status), and the trust-store installation (it would change the system's stores).
// It is close to the adapter main needs.
type storeBackend struct {
	store *settings.Store
	ver   *verifier.Verifier
	ca    *localproxy.CA

	mu      sync.Mutex // protects status, certs, calls and history
	status  Status
	certs   map[string]*x509.Certificate
	calls   []string
	history []verifier.Event // what History returns: events of an earlier run (main reads the store's)
}

func (b *storeBackend) History(context.Context, int) ([]verifier.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]verifier.Event(nil), b.history...), nil
}

func newStoreBackend(t testing.TB) *storeBackend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	st, err := settings.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := verifier.New(ctx, verifier.Config{Store: st, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	ca, err := localproxy.LoadOrCreateCA(dir, settings.NewMemorySecrets())
	if err != nil {
		t.Fatal(err)
	}
	return &storeBackend{store: st, ver: v, ca: ca, certs: map[string]*x509.Certificate{},
		status: Status{ProxyAddr: "127.0.0.1:8118", PACURL: "http://127.0.0.1:8118/proxy.pac"}}
}

func (b *storeBackend) record(call string) {
	b.mu.Lock()
	b.calls = append(b.calls, call)
	b.mu.Unlock()
}

func (b *storeBackend) Notaries(ctx context.Context) ([]settings.Notary, error) {
	return b.ver.ListNotaries(ctx)
}

func (b *storeBackend) PreviewBundle(ctx context.Context, src string) ([]byte, protocol.Bundle, error) {
	return b.ver.ReadBundle(ctx, src)
}

func (b *storeBackend) ImportBundle(ctx context.Context, raw []byte, src string, confirmRevoked bool) (settings.Notary, error) {
	b.record(fmt.Sprintf("import %s confirm=%v", filepath.Base(src), confirmRevoked))
	return b.ver.ImportBundleBytes(ctx, raw, src, verifier.ImportOptions{ConfirmRevoked: confirmRevoked})
}

// importFile trusts the bundle file at path, as the terminal face does; for tests
// that start with notaries.
func (b *storeBackend) importFile(t *testing.T, path string) {
	t.Helper()
	if _, err := b.ver.ImportBundle(ctxT(t), path, verifier.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (b *storeBackend) Revoke(ctx context.Context, name string) error {
	_, err := b.ver.Revoke(ctx, name)
	return err
}

func (b *storeBackend) Unrevoke(ctx context.Context, name string) error {
	if err := b.store.UnrevokeNotary(ctx, name); err != nil {
		return err
	}
	return b.ver.Reload(ctx)
}

func (b *storeBackend) SetNotaryEnabled(ctx context.Context, name string, on bool) error {
	if err := b.store.SetNotaryEnabled(ctx, name, on); err != nil {
		return err
	}
	return b.ver.Reload(ctx)
}

func (b *storeBackend) Settings(ctx context.Context) (settings.Settings, error) {
	return b.store.Settings(ctx)
}

func (b *storeBackend) SaveSettings(ctx context.Context, s settings.Settings) error {
	if err := b.store.SaveSettings(ctx, s); err != nil {
		return err
	}
	return b.ver.Reload(ctx)
}

func (b *storeBackend) CacheEntries(ctx context.Context) ([]settings.CacheEntry, error) {
	return b.store.CacheEntries(ctx)
}

func (b *storeBackend) ForgetSite(ctx context.Context, t verifier.Target, fp string) error {
	if _, err := b.ver.ClearCacheSite(ctx, t); err != nil {
		return err
	}
	if fp == "" {
		return nil
	}
	if err := b.ver.Unpin(ctx, t, fp); err != nil && !errors.Is(err, settings.ErrNotFound) {
		return err
	}
	return nil
}

func (b *storeBackend) ClearCache(ctx context.Context) (int, error) { return b.ver.ClearCache(ctx) }

func (b *storeBackend) Certificate(_ context.Context, fp string) (*x509.Certificate, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.certs[fp]; c != nil {
		return c, nil
	}
	return nil, settings.ErrNotFound
}

func (b *storeBackend) TrustForSite(ctx context.Context, v verifier.Verdict) error {
	return b.ver.Pin(ctx, v.Target, v.FingerprintSHA256, "trusted from the desktop app")
}

// Status is simulated: no proxy listens in these tests.
func (b *storeBackend) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status
}

// SetPaused stores the setting, as main's adapter does, and reflects it in Status.
func (b *storeBackend) SetPaused(ctx context.Context, paused bool) error {
	s, err := b.store.Settings(ctx)
	if err != nil {
		return err
	}
	s.Paused = paused
	if err := b.store.SaveSettings(ctx, s); err != nil {
		return err
	}
	b.mu.Lock()
	b.status.Paused = paused
	b.mu.Unlock()
	return nil
}

func (b *storeBackend) CAPEM() []byte { return b.ca.CertPEM() }

// InstallCA is simulated: installing into the system's trust stores would change this
// machine. It reports one store done and one that needs a password.
func (b *storeBackend) InstallCA(context.Context) ([]TrustStoreResult, error) {
	b.record("install-ca")
	b.mu.Lock()
	b.status.CAInstalled = true
	b.mu.Unlock()
	return []TrustStoreResult{
		{Store: "Chromium (NSS, ~/.pki/nssdb)", Installed: true},
		{Store: "System (Debian)", Command: "sudo cp convergence-ca.pem /usr/local/share/ca-certificates/convergence.crt && sudo update-ca-certificates", Err: "needs administrator rights"},
	}, nil
}

// selfSigned returns a fresh self-signed certificate for name.
func selfSigned(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{name}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeBundle writes a valid .notary file for a notary with one host and returns its path.
func writeBundle(t testing.TB, dir, name, host string) string {
	t.Helper()
	c := selfSigned(t, host)
	data, err := protocol.MarshalBundle(protocol.Bundle{Version: 1, Name: name, Region: "DE",
		Hosts: []protocol.BundleHost{{Host: host, SSLPort: 443, HTTPPort: 80,
			CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))}}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".notary")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
