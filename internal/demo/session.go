package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/settings"
)

// Session is a running demo: its world, and the app opened on the demo's data dir with
// the proxy's listener open on a free loopback port. Serve serves it; Close ends all.
type Session struct {
	Demo  *Demo
	Core  *core.Core
	watch *Watch
	ln    net.Listener
}

// Open starts the demo's world and opens the app on its data dir, logging to log.
func Open(ctx context.Context, log *slog.Logger) (s *Session, err error) {
	d, err := Start()
	if err != nil {
		return nil, err
	}
	s = &Session{Demo: d}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	// The local CA's key lives as long as the demo: in memory, never in the keyring,
	// which would keep it after the dir is gone.
	s.Core, err = core.Open(ctx, core.Options{DataDir: d.DataDir(), Listen: "127.0.0.1:0", Logger: log,
		DialSites: d.DialSites, Secrets: settings.NewMemorySecrets()})
	if err != nil {
		return nil, err
	}
	if err := d.Prepare(ctx, s.Core); err != nil {
		return nil, err
	}
	s.watch = NewWatch(s.Core)
	if s.ln, err = s.Core.ListenProxy(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// ProxyAddr is where the demo's proxy listens.
func (s *Session) ProxyAddr() string { return s.ln.Addr().String() }

// Serve serves the proxy until ctx is done (core.Core.ServeOn).
func (s *Session) Serve(ctx context.Context) error { return s.Core.ServeOn(ctx, s.ln) }

// Visit visits both sites through the proxy, which must be serving.
func (s *Session) Visit(ctx context.Context) ([]Visit, error) {
	return s.Demo.Visit(ctx, s.watch, s.ProxyAddr(), s.Core.CA().Certificate())
}

// Close closes the app, stops the world and removes the throw-away dir. The proxy's
// Serve must have returned.
func (s *Session) Close() error {
	var errs []error
	if s.Core != nil {
		errs = append(errs, s.Core.Close())
	}
	return errors.Join(append(errs, s.CloseWorld())...)
}

// CloseWorld is Close for a session whose app was closed by whoever ran it (the
// desktop app closes its core itself): it stops the world and removes the dir.
func (s *Session) CloseWorld() error {
	var errs []error
	if s.ln != nil {
		s.ln.Close() // when Serve never ran; after it, already closed
	}
	errs = append(errs, s.Demo.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("failed to end the demo: %w", err)
	}
	return nil
}
