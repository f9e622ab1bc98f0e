package traytest

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/ui"
	"github.com/convergence-ng/convergence/verifier"
)

// trayBackend is a minimal ui.Backend. These tests are about the tray on D-Bus; the
// backend's real behaviour (store, verifier) is covered by the ui package's tests, and
// a real store here would add nothing the tray can show.
type trayBackend struct {
	mu     sync.Mutex // protects paused
	paused bool
	pauses chan bool // every SetPaused call
}

var errNotHere = errors.New("not used by the tray tests")

func (b *trayBackend) Notaries(context.Context) ([]settings.Notary, error) {
	return []settings.Notary{{Name: "Alpha", Enabled: true}}, nil
}
func (b *trayBackend) PreviewBundle(context.Context, string) ([]byte, protocol.Bundle, error) {
	return nil, protocol.Bundle{}, errNotHere
}
func (b *trayBackend) ImportBundle(context.Context, []byte, string, bool) (settings.Notary, error) {
	return settings.Notary{}, errNotHere
}
func (b *trayBackend) History(context.Context, int) ([]verifier.Event, error) { return nil, nil }
func (b *trayBackend) Revoke(context.Context, string) (int, error)            { return 0, errNotHere }
func (b *trayBackend) Unrevoke(context.Context, string) error                 { return errNotHere }
func (b *trayBackend) SetNotaryEnabled(context.Context, string, bool) (int, error) {
	return 0, errNotHere
}
func (b *trayBackend) Settings(context.Context) (settings.Settings, error) {
	return settings.Defaults(), nil
}
func (b *trayBackend) SaveSettings(context.Context, settings.Settings) error { return errNotHere }
func (b *trayBackend) CacheEntries(context.Context) ([]settings.CacheEntry, error) {
	return nil, nil
}
func (b *trayBackend) ForgetSite(context.Context, verifier.Target, string) error { return errNotHere }
func (b *trayBackend) ClearCache(context.Context) (int, error)                   { return 0, errNotHere }
func (b *trayBackend) Certificate(context.Context, string) (*x509.Certificate, error) {
	return nil, errNotHere
}
func (b *trayBackend) TrustForSite(context.Context, verifier.Verdict) error { return errNotHere }
func (b *trayBackend) Status() ui.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return ui.Status{ProxyAddr: "127.0.0.1:8118", PACURL: "http://127.0.0.1:8118/proxy.pac", Paused: b.paused}
}
func (b *trayBackend) SetPaused(_ context.Context, p bool) error {
	b.mu.Lock()
	b.paused = p
	b.mu.Unlock()
	b.pauses <- p
	return nil
}
func (b *trayBackend) CAPEM() []byte { return nil }
func (b *trayBackend) InstallCA(context.Context) ([]ui.TrustStoreResult, error) {
	return nil, errNotHere
}
