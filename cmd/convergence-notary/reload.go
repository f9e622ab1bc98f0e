package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/server"
)

// reloadOnHUP reloads, on each SIGHUP until ctx ends, what can change without a restart:
// the identity (key and certificate, from --key-dir or the environment; never created)
// and the bundle made with it, the allow lists (--allow-target, --allow-port) and the
// trusted proxies, from the command line and the config file read again. A reload that
// fails changes nothing and says why; connections and probes in flight go on.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, c serveConfig, h *server.Handler, pr *probe.Prober, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if err := reload(c, h, pr, log); err != nil {
			log.Error("reload failed: nothing changed", "err", err)
		}
	}
}

func reload(c serveConfig, h *server.Handler, pr *probe.Prober, log *slog.Logger) error {
	nc, err := parseServe(c.args, io.Discard)
	if err != nil {
		return err
	}
	id, err := loadIdentity(nc, false)
	if err != nil {
		return err
	}
	bundle, err := bundleOf(nc, id)
	if err != nil {
		return err
	}
	if err := h.Reload(id, bundle, nc.trustedProxies); err != nil {
		return err
	}
	pr.SetPolicy(policyOf(nc))
	log.Info("reloaded", "key_type", id.KeyType, "cert_sha256", protocol.SHA256Fingerprint(id.Cert.Raw),
		"allow_targets", len(nc.allowTargets), "allow_ports", len(nc.allowPorts), "trusted_proxies", len(nc.trustedProxies))
	return nil
}

// policyOf is the probe policy the allow lists make.
func policyOf(c serveConfig) *probe.Policy {
	return &probe.Policy{Allow: c.allowTargets, Ports: c.allowPorts}
}

// bundleOf is the served bundle for id, nil without --host.
func bundleOf(c serveConfig, id *keys.Identity) ([]byte, error) {
	if len(c.hosts) == 0 {
		return nil, nil
	}
	b, err := id.Bundle(keys.BundleOptions{Name: c.name, Hosts: c.hosts, Region: c.region, Location: c.bundleLocation, SSLPort: c.bundlePort()})
	if err != nil {
		return nil, usage("check --name, --host, --region and --bundle-location", "failed to make the bundle: %v", err)
	}
	return protocol.MarshalBundle(b)
}
