// Package demo is 'convergence demo' (and 'make demo'): a throw-away world on this
// machine's loopback in which the app, asking three real notaries, meets an honest site
// and a site whose certificate only the app sees differently, as on an attacked network.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/settings"
)

// Demo is the demo's world: three notaries, the honest site, the attacked site as the
// notaries see it (the real one) and the impostor the app's proxy is sent to instead.
// Everything listens on 127.0.0.1 and lives in Dir, which Close removes.
type Demo struct {
	// Dir is the throw-away dir: the app's data dir (DataDir) and the notaries' dirs.
	Dir string
	// Honest and Attacked are the two sites as a browser names them, host:port.
	Honest, Attacked string

	honest, attackedReal, impostor *site
	notaries                       []*notary
}

// Start makes the throw-away dir (under the system's temp dir) and starts the sites
// and the notaries. Close stops them and removes the dir; on an error Start has done so.
func Start() (d *Demo, err error) {
	dir, err := os.MkdirTemp("", "convergence-demo-")
	if err != nil {
		return nil, fmt.Errorf("failed to make the demo's throw-away dir: %w", err)
	}
	d = &Demo{Dir: dir}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	ca, err := newSiteCA()
	if err != nil {
		return nil, err
	}
	pages := []struct {
		into **site
		name string
		page string
	}{
		{&d.honest, HonestName, "This is " + HonestName + ": every notary sees the certificate you see.\n"},
		{&d.attackedReal, AttackedName, "This is the real " + AttackedName + ".\n"},
		{&d.impostor, AttackedName, "This is an impostor of " + AttackedName + ": it would read your password.\n"},
	}
	for i, p := range pages {
		cert, err := ca.leaf(p.name, int64(i+2))
		if err != nil {
			return nil, err
		}
		if *p.into, err = startSite(cert, p.page); err != nil {
			return nil, err
		}
	}
	d.Honest = net.JoinHostPort(HonestName, strconv.Itoa(d.honest.port))
	d.Attacked = net.JoinHostPort(AttackedName, strconv.Itoa(d.attackedReal.port))
	ports := []int{d.honest.port, d.attackedReal.port}
	for i, name := range notaryNames {
		n, err := startNotary(filepath.Join(dir, "notary-"+string(rune('a'+i))), name, ports)
		if err != nil {
			return nil, err
		}
		d.notaries = append(d.notaries, n)
	}
	return d, nil
}

// DataDir is the app's data dir inside Dir.
func (d *Demo) DataDir() string { return filepath.Join(d.Dir, "app") }

// DialSites is the app's proxy's way to the demo's sites (core.Options.DialSites): the
// honest site is reached where it is; the attacked site's connections go to the
// impostor, as an attacker on the app's network would send them, while the notaries,
// elsewhere on the network, reach the real one. Every other destination is refused:
// the demo reaches nothing outside this machine.
func (d *Demo) DialSites(ctx context.Context, network, addr string) (net.Conn, error) {
	var to string
	switch strings.ToLower(addr) {
	case strings.ToLower(d.Honest):
		to = d.honest.addr
	case strings.ToLower(d.Attacked):
		to = d.impostor.addr
	default:
		return nil, fmt.Errorf("failed to reach %q: the demo reaches its own sites only", addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

// Prepare sets up the app's fresh data dir: the demo's three notaries trusted, and
// loopback sites checked instead of exempted (settings.Settings.ExemptLoopback), since
// the demo's sites and notaries are all on this machine.
func (d *Demo) Prepare(ctx context.Context, c *core.Core) error {
	if _, err := c.UpdateSettings(ctx, func(s *settings.Settings) error { s.ExemptLoopback = false; return nil }); err != nil {
		return fmt.Errorf("failed to set up the demo's settings: %w", err)
	}
	for _, n := range d.notaries {
		if _, err := c.ImportBundle(ctx, n.bundle, "convergence demo", false); err != nil {
			return fmt.Errorf("failed to add the demo's notary %q: %w", n.name, err)
		}
	}
	return nil
}

// Close stops the sites and the notaries and removes Dir. The app on DataDir must be
// closed first.
func (d *Demo) Close() error {
	var errs []error
	for _, n := range d.notaries {
		errs = append(errs, n.close())
	}
	for _, s := range []*site{d.honest, d.attackedReal, d.impostor} {
		if s != nil {
			errs = append(errs, s.close())
		}
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		errs = append(errs, fmt.Errorf("failed to remove the demo's dir %q: %w", d.Dir, err))
	}
	return errors.Join(errs...)
}
