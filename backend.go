package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/truststore"
	"github.com/convergence-ng/convergence/ui"
	"github.com/convergence-ng/convergence/verifier"
)

// caNickname is the name the local CA has in trust stores.
const caNickname = "Convergence Local CA"

// backend is ui.Backend over the app's core: a thin adapter, no decisions.
type backend struct {
	c *core.Core

	mu          sync.Mutex // protects proxyErr, caInstalled
	proxyErr    string
	caInstalled bool
}

var _ ui.Backend = (*backend)(nil)

func (b *backend) Notaries(ctx context.Context) ([]settings.Notary, error) {
	return b.c.Verifier.ListNotaries(ctx)
}

func (b *backend) PreviewBundle(ctx context.Context, src string) ([]byte, protocol.Bundle, error) {
	return b.c.Verifier.ReadBundle(ctx, src)
}

func (b *backend) ImportBundle(ctx context.Context, raw []byte, src string, confirmRevoked bool) (settings.Notary, error) {
	return b.c.Verifier.ImportBundleBytes(ctx, raw, src, verifier.ImportOptions{ConfirmRevoked: confirmRevoked})
}

func (b *backend) Revoke(ctx context.Context, name string) error {
	_, err := b.c.Verifier.Revoke(ctx, name)
	return err
}

func (b *backend) Unrevoke(ctx context.Context, name string) error {
	if err := b.c.Store.UnrevokeNotary(ctx, name); err != nil {
		return err
	}
	return b.c.Verifier.Reload(ctx)
}

func (b *backend) SetNotaryEnabled(ctx context.Context, name string, enabled bool) error {
	_, err := b.c.Verifier.SetEnabled(ctx, name, enabled)
	return err
}

func (b *backend) Settings(ctx context.Context) (settings.Settings, error) {
	return b.c.Store.Settings(ctx)
}

func (b *backend) SaveSettings(ctx context.Context, s settings.Settings) error {
	return b.c.SaveSettings(ctx, s)
}

func (b *backend) CacheEntries(ctx context.Context) ([]settings.CacheEntry, error) {
	return b.c.Store.CacheEntries(ctx)
}

func (b *backend) ForgetSite(ctx context.Context, t verifier.Target, fp string) error {
	if _, err := b.c.Verifier.ClearCacheSite(ctx, t); err != nil {
		return err
	}
	if fp == "" {
		return nil
	}
	if err := b.c.Verifier.Unpin(ctx, t, fp); err != nil && !errors.Is(err, settings.ErrNotFound) {
		return err
	}
	return nil
}

func (b *backend) ClearCache(ctx context.Context) (int, error) { return b.c.Verifier.ClearCache(ctx) }

func (b *backend) History(ctx context.Context, limit int) ([]verifier.Event, error) {
	return b.c.History(ctx, limit)
}

func (b *backend) Certificate(_ context.Context, fp string) (*x509.Certificate, error) {
	if c, ok := b.c.Certificate(fp); ok {
		return c, nil
	}
	return nil, fmt.Errorf("certificate %q is no longer kept", fp)
}

func (b *backend) TrustForSite(ctx context.Context, v verifier.Verdict) error {
	return b.c.Verifier.Pin(ctx, v.Target, v.FingerprintSHA256, "trusted by the user from the Activity tab")
}

// setProxyErr records why the proxy stopped, in plain words.
func (b *backend) setProxyErr(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.proxyErr = msg
}

func (b *backend) Status() ui.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := ui.Status{
		ProxyErr:        b.proxyErr,
		KeyringFallback: b.c.Fallback != nil,
		Paused:          b.c.Paused(),
		CAInstalled:     b.caInstalled,
	}
	if b.proxyErr == "" {
		st.ProxyAddr = b.c.Listen
		st.PACURL = "http://" + b.c.Listen + "/proxy.pac"
	}
	return st
}

func (b *backend) SetPaused(ctx context.Context, paused bool) error {
	return b.c.SetPaused(ctx, paused)
}

func (b *backend) CAPEM() []byte { return b.c.CA().CertPEM() }

// InstallCA adds the local CA to the NSS databases of the user's browsers, and to the
// system store when running as root; otherwise it shows the command to run.
func (b *backend) InstallCA(ctx context.Context) ([]ui.TrustStoreResult, error) {
	caFile := filepath.Join(b.c.DataDir, "ca.pem")
	if err := os.WriteFile(caFile, b.CAPEM(), settings.PrivateFileMode); err != nil {
		return nil, fmt.Errorf("failed to write the CA certificate to %q: %w", caFile, err)
	}
	home, _ := os.UserHomeDir()
	var out []ui.TrustStoreResult
	dbs := truststore.NSSDatabases(home)
	if len(dbs) == 0 {
		dbs = []string{"sql:" + filepath.Join(home, ".pki", "nssdb")}
		os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700)
	}
	for _, db := range dbs {
		r := ui.TrustStoreResult{Store: "Browser database " + strings.TrimPrefix(db, "sql:")}
		if err := truststore.InstallNSS(ctx, caFile, caNickname, []string{db}); err != nil {
			r.Err = err.Error()
			r.Command = fmt.Sprintf("certutil -A -d %q -t C,, -n %q -i %q", db, caNickname, caFile)
		} else {
			r.Installed = true
		}
		out = append(out, r)
	}
	sys := ui.TrustStoreResult{Store: "System trust store"}
	if os.Geteuid() == 0 {
		if err := truststore.InstallSystem(ctx, b.CAPEM(), "convergence-local-ca"); err != nil {
			sys.Err = err.Error()
		} else {
			sys.Installed = true
		}
	} else {
		sys.Err = "needs administrator rights"
		sys.Command = fmt.Sprintf("sudo cp %q /usr/local/share/ca-certificates/convergence-local-ca.crt && sudo update-ca-certificates", caFile)
		if _, err := exec.LookPath("update-ca-trust"); err == nil {
			sys.Command = fmt.Sprintf("sudo cp %q /etc/pki/ca-trust/source/anchors/convergence-local-ca.pem && sudo update-ca-trust", caFile)
		}
	}
	out = append(out, sys)
	b.mu.Lock()
	for _, r := range out {
		b.caInstalled = b.caInstalled || r.Installed
	}
	b.mu.Unlock()
	return out, nil
}
