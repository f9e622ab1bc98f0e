package traytest

import (
	"context"
	"fmt"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// trayBackend is the real application (core.Core) on a data dir of the test's own,
// with the CA's key in memory (the session's keyring is not the tray's concern). It
// passes on every SetPaused and Pause call, so the test sees the click reach the
// application.
type trayBackend struct {
	*core.Core
	pauses    chan bool          // every SetPaused call, and true for every Pause call
	durations chan time.Duration // every Pause call's duration
}

// openBackend opens the application on dir with one notary, so that it protects; its
// proxy is built but never listens (the tray shows the state, it does not browse).
func openBackend(dir string) (*trayBackend, error) {
	ctx := context.Background()
	c, err := core.Open(ctx, core.Options{DataDir: dir, Listen: "127.0.0.1:8118", Secrets: settings.NewMemorySecrets()})
	if err != nil {
		return nil, fmt.Errorf("failed to open the application: %w", err)
	}
	cert, err := testcerts.Make(testcerts.Options{}, "alpha.example.org")
	if err == nil {
		var raw []byte
		raw, err = protocol.MarshalBundle(protocol.Bundle{Version: 1, Name: "Alpha", Hosts: []protocol.BundleHost{{
			Host: "alpha.example.org", SSLPort: 443, CertificatePEM: string(testcerts.PEM(cert.Cert))}}})
		if err == nil {
			_, err = c.ImportBundle(ctx, raw, "alpha.notary", false)
		}
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("failed to add a notary: %w", err)
	}
	return &trayBackend{Core: c, pauses: make(chan bool, 8), durations: make(chan time.Duration, 8)}, nil
}

func (b *trayBackend) SetPaused(ctx context.Context, p bool) error {
	if err := b.Core.SetPaused(ctx, p); err != nil {
		return err
	}
	b.pauses <- p
	return nil
}

func (b *trayBackend) Pause(ctx context.Context, d time.Duration) error {
	if err := b.Core.Pause(ctx, d); err != nil {
		return err
	}
	b.durations <- d
	b.pauses <- true
	return nil
}
