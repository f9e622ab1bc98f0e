package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// refreshParallel bounds how many bundles RefreshBundles fetches at once.
const refreshParallel = 4

// ErrBundleRenamed means a refreshed bundle names another notary than the one it was
// fetched for. RefreshBundles changes nothing then: renaming, or adding a second
// notary, is for the user to do with an import.
var ErrBundleRenamed = errors.New("bundle names another notary")

// ErrBundleKeysChanged means a refreshed bundle has other hosts, pinned certificates,
// signing key or bundle location than the stored notary. RefreshBundles changes nothing
// then: the bundle is fetched over the web PKI, which is exactly what Convergence does not
// trust on its own, so a new key is for the user to review and import.
var ErrBundleKeysChanged = errors.New("bundle has other hosts or keys")

// RefreshStatus is what a refresh did to one notary.
type RefreshStatus int

// What a refresh did to one notary.
const (
	RefreshUnchanged RefreshStatus = iota // the bundle served is the one stored
	RefreshUpdated                        // the new bundle was imported
	RefreshFailed                         // nothing changed; Err says why
)

// String returns "unchanged", "updated" or "failed".
func (s RefreshStatus) String() string {
	switch s {
	case RefreshUnchanged:
		return "unchanged"
	case RefreshUpdated:
		return "updated"
	case RefreshFailed:
		return "failed"
	}
	return fmt.Sprintf("RefreshStatus(%d)", int(s))
}

// RefreshResult is the outcome of refreshing one notary.
type RefreshResult struct {
	Notary   string // the stored notary's name
	Location string // the https URL its bundle was fetched from
	Status   RefreshStatus
	// KeysChanged is set when the served bundle has other hosts, pinned certificates,
	// v2 signing key or bundle location; Status is then RefreshFailed with
	// ErrBundleKeysChanged and the notary keeps its old ones.
	KeysChanged bool
	Err         error // set when Status is RefreshFailed
}

// RefreshReport lists what RefreshBundles did, one result per notary it tried (those
// with an https bundle location that are not revoked), by name.
type RefreshReport struct {
	Results []RefreshResult
}

// Count returns how many results have status s.
func (r RefreshReport) Count(s RefreshStatus) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// RefreshBundles fetches again the bundle of every stored notary that has an https
// bundle location and is not revoked, and imports it as ImportBundleBytes does when it
// changes only what does not decide trust (region, HTTP port, formatting); the user's
// enabled flag is kept. This is the original client's daily bundle update, without its
// hole: a bundle URL is authenticated by the web PKI only, so an attacker with a
// misissued certificate for the bundle's domain could otherwise swap a notary's pins for
// their own, silently, for good.
//
// Rules:
//   - a revoked notary is never fetched.
//   - a bundle that names another notary changes nothing and is a failure
//     (ErrBundleRenamed): it neither renames the notary nor adds a second one.
//   - a bundle that shares a certificate with a revoked notary fails with
//     ErrPreviouslyRevoked, as an import without confirmation does.
//   - one notary's failure (network, status, malformed, oversized) is recorded in its
//     result and never stops the others.
//   - a bundle with other hosts, pinned certificates, v2 signing key or bundle location
//     changes nothing and is a failure (ErrBundleKeysChanged, KeysChanged set): the
//     notary keeps answering with its old keys until the user imports the new bundle
//     (where the app shows it before trusting it).
//
// The error is set only when the notaries cannot be listed, or when ctx ended (the
// report then holds what was done before).
func (v *Verifier) RefreshBundles(ctx context.Context) (RefreshReport, error) {
	all, err := v.store.Notaries(ctx)
	if err != nil {
		return RefreshReport{}, fmt.Errorf("failed to refresh bundles: %w", err)
	}
	var todo []settings.Notary
	for _, n := range all {
		if !n.Revoked && strings.HasPrefix(strings.ToLower(n.BundleLocation), "https://") {
			todo = append(todo, n)
		}
	}
	// Fetch in parallel, each with readBundle's own timeout and size cap; a failed
	// fetch is recorded, never returned, so it cannot cancel the others.
	raws := make([][]byte, len(todo))
	errs := make([]error, len(todo))
	var g errgroup.Group
	g.SetLimit(refreshParallel)
	for i, n := range todo {
		g.Go(func() error {
			raws[i], errs[i] = readBundlePinned(ctx, n.BundleLocation, v.cfg.Dial, v.cfg.bundleRoots,
				pinnedFingerprints(n), ErrBundleServerNotNotary)
			return nil
		})
	}
	_ = g.Wait() // the goroutines return nil
	// Import one at a time: each import writes the store and reloads the verifier.
	report := RefreshReport{Results: make([]RefreshResult, 0, len(todo))}
	for i, n := range todo {
		res := RefreshResult{Notary: n.Name, Location: n.BundleLocation}
		if errs[i] == nil {
			errs[i] = v.refreshOne(ctx, n, raws[i], &res)
		}
		if errs[i] != nil {
			res.Status, res.Err = RefreshFailed, fmt.Errorf("failed to refresh notary %q: %w", n.Name, errs[i])
		}
		report.Results = append(report.Results, res)
	}
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("failed to refresh bundles: %w", err)
	}
	return report, nil
}

// refreshOne imports raw, fetched for the stored notary n, and fills res.
func (v *Verifier) refreshOne(ctx context.Context, n settings.Notary, raw []byte, res *RefreshResult) error {
	if bytes.Equal(raw, n.Bundle) {
		res.Status = RefreshUnchanged
		return nil
	}
	b, err := protocol.ParseBundle(raw)
	if err != nil {
		return err
	}
	if b.Name != n.Name {
		return fmt.Errorf("bundle at %q now names notary %q: %w", n.BundleLocation, b.Name, ErrBundleRenamed)
	}
	if !maps.Equal(keysOf(n), keysOfBundle(b)) || b.BundleLocation != n.BundleLocation {
		res.KeysChanged = true
		return fmt.Errorf("bundle at %q now has other hosts, keys or location; nothing was changed, and the notary "+
			"keeps its old ones until you import the bundle again yourself and check it "+
			"('convergence notary add %s', or the Notaries tab): %w", n.BundleLocation, n.BundleLocation, ErrBundleKeysChanged)
	}
	// PutNotary keeps the stored enabled flag of an existing name; Disabled matters
	// only if the notary was deleted meanwhile, and then it is not re-enabled.
	if _, err := v.ImportBundleBytes(ctx, raw, n.BundleLocation, ImportOptions{Disabled: !n.Enabled}); err != nil {
		return err
	}
	res.Status = RefreshUpdated
	return nil
}

// pinnedFingerprints returns the SHA-256 fingerprints of the certificates n's stored
// bundle pins for its hosts. A refresh trusts a bundle URL's server that shows one of
// them, as it trusts one a certificate authority vouches for: convergence-notary
// serves its own bundle over its own self-signed certificate, which the stored bundle
// already trusts to speak for the notary (a first import needs the fingerprint given).
func pinnedFingerprints(n settings.Notary) []string {
	var fps []string
	for _, h := range n.Hosts {
		if block, _ := pem.Decode([]byte(h.CertificatePEM)); block != nil {
			fps = append(fps, protocol.SHA256Fingerprint(block.Bytes))
		}
	}
	return fps
}

// keysOf returns what decides whom the stored notary's answers come from: each host's
// address, the SHA-256 of each pinned certificate and the v2 signing key, if its stored
// bundle has one.
func keysOf(n settings.Notary) map[string]bool {
	keys := map[string]bool{}
	for _, h := range n.Hosts {
		keys["host:"+net.JoinHostPort(h.Host, strconv.Itoa(h.SSLPort))] = true
		if block, _ := pem.Decode([]byte(h.CertificatePEM)); block != nil {
			keys[fmt.Sprintf("cert:%x", sha256.Sum256(block.Bytes))] = true
		} else {
			keys["cert:unreadable:"+h.CertificatePEM] = true
		}
	}
	if b, err := protocol.ParseBundle(n.Bundle); err == nil && b.V2 != nil && b.V2.SigningKey != "" {
		keys["v2:"+strings.TrimSpace(b.V2.SigningKey)] = true
	}
	return keys
}

// keysOfBundle is keysOf for a parsed bundle.
func keysOfBundle(b protocol.Bundle) map[string]bool {
	keys := map[string]bool{}
	for _, h := range b.Hosts {
		keys["host:"+net.JoinHostPort(h.Host, strconv.Itoa(h.SSLPort))] = true
		if h.Certificate != nil {
			keys[fmt.Sprintf("cert:%x", sha256.Sum256(h.Certificate.Raw))] = true
		} else {
			keys["cert:unreadable:"+h.CertificatePEM] = true
		}
	}
	if b.V2 != nil && b.V2.SigningKey != "" {
		keys["v2:"+strings.TrimSpace(b.V2.SigningKey)] = true
	}
	return keys
}
