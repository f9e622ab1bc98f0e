package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/server"
	"github.com/convergence-ng/convergence/notary/store"
)

// notaryNames are the demo's three notaries, as the window and the terminal show them.
var notaryNames = []string{"Demo notary A", "Demo notary B", "Demo notary C"}

// demoResolver answers the demo's site names with 127.0.0.1, where the real sites
// are, and nothing else: the notaries probe the demo's sites only.
type demoResolver struct{}

func (demoResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if h := strings.TrimSuffix(strings.ToLower(host), "."); h == HonestName || h == AttackedName {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, fmt.Errorf("failed to resolve %q: the demo's notaries know the demo's sites only", host)
}

// notary is one of the demo's notaries: the real notary server (handler, SQLite store,
// prober) in this process on a loopback port.
type notary struct {
	name   string
	bundle []byte // its .notary bundle
	st     *store.SQLite
	cancel context.CancelFunc
	done   chan error
}

// startNotary runs a notary whose data lives in dir, allowed to probe ports on
// loopback only, until close.
func startNotary(dir, name string, ports []int) (*notary, error) {
	id, err := keys.LoadOrCreate(dir, keys.KeyECDSA, []string{"127.0.0.1"})
	if err != nil {
		return nil, fmt.Errorf("failed to make the key of %q: %w", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "notary.db"))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("failed to open the store of %q: %w", name, err)
	}
	fail := func(err error) (*notary, error) { cancel(); st.Close(); return nil, err }
	prober := probe.New(probe.Config{
		Policy:   &probe.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Ports: ports},
		Resolver: demoResolver{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("failed to listen for %q: %w", name, err))
	}
	b, err := id.Bundle(keys.BundleOptions{Name: name, Hosts: []string{"127.0.0.1"}, SSLPort: ln.Addr().(*net.TCPAddr).Port})
	if err != nil {
		ln.Close()
		return fail(fmt.Errorf("failed to make the bundle of %q: %w", name, err))
	}
	raw, err := protocol.MarshalBundle(b)
	if err != nil {
		ln.Close()
		return fail(fmt.Errorf("failed to write the bundle of %q: %w", name, err))
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	handler, err := server.NewHandler(server.HandlerConfig{
		Notary:   server.New(server.Config{Store: st, Prober: prober}),
		Identity: id, Bundle: raw, Name: name, Logger: quiet,
	})
	if err != nil {
		ln.Close()
		return fail(fmt.Errorf("failed to start %q: %w", name, err))
	}
	n := &notary{name: name, bundle: raw, st: st, cancel: cancel, done: make(chan error, 1)}
	go func() { // ends at close (cancel)
		n.done <- server.Serve(ctx, ln, server.ServeConfig{Handler: handler, Certificate: id.TLS, Logger: quiet})
	}()
	return n, nil
}

func (n *notary) close() error {
	n.cancel()
	err := <-n.done
	return errors.Join(err, n.st.Close())
}
