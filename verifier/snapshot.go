package verifier

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// snapshot is what a check reads from the store, kept in memory so a cache hit does
// not touch SQLite. It is immutable once built; Reload swaps in a new one.
type snapshot struct {
	settings settings.Settings
	policy   Policy
	notaries []notaryInfo            // enabled, not revoked, usable (at least one valid host)
	revoked  map[string]bool         // names of revoked notaries
	pins     map[pinKey]settings.Pin // the user's exceptions, expired ones included
	// untilChange holds the sites with a pin that ends when the site shows another
	// certificate (settings.Pin.UntilChange).
	untilChange map[siteKey]bool
	skipped     map[string]error // enabled notaries that could not be used, and why
	// subsetKey picks each site's notaries when not all are asked (pickNotaries).
	subsetKey []byte
	loaded    time.Time
	// facts are what the directories say of the notaries (SetNotaryFacts); shared is
	// set when two usable notaries share something, so that their votes are grouped.
	facts  map[string]directory.Facts
	shared bool
}

// setFacts records facts and whether any two usable notaries share something.
func (s *snapshot) setFacts(facts map[string]directory.Facts) {
	s.facts = facts
	s.shared = groupsOf(s.notaries, facts) != nil
}

// groupsFor returns the groups of the notaries asked (groupsOf), nil when each is a
// vote of its own.
func (s *snapshot) groupsFor(asked []notaryInfo) map[string]string {
	if !s.shared {
		return nil
	}
	return groupsOf(asked, s.facts)
}

// askedFor returns the notaries a check of t asks: every usable notary, or the
// site's own stable subset of them (pickNotaries).
func (s *snapshot) askedFor(t Target) []notaryInfo {
	return pickNotaries(s.notaries, s.settings.MaxNotaries, s.subsetKey, t)
}

// siteKey names one site.
type siteKey struct {
	host string
	port int
}

// pinKey names one pinned certificate for one site.
type pinKey struct {
	host string
	port int
	fp   string
}

// policyFrom turns the stored settings into the consensus rule.
func policyFrom(s settings.Settings) Policy {
	return Policy{
		Threshold:                s.Threshold,
		K:                        s.ThresholdK,
		MinAgreeAge:              s.MinAgreeAge,
		UnreachableCountsAgainst: s.UnreachableCountsAgainst,
		NoAnswer:                 s.NoAnswerPolicy,
	}
}

// loadSnapshot reads settings, notaries and pins from the store.
func loadSnapshot(ctx context.Context, st Store, now time.Time) (*snapshot, error) {
	set, err := st.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to load settings: %w", err)
	}
	ns, err := st.Notaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to load notaries: %w", err)
	}
	pins, err := st.Pins(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to load pins: %w", err)
	}
	key, err := st.SubsetKey(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{
		settings:    set,
		policy:      policyFrom(set),
		revoked:     map[string]bool{},
		pins:        make(map[pinKey]settings.Pin, len(pins)),
		untilChange: map[siteKey]bool{},
		skipped:     map[string]error{},
		subsetKey:   key,
		loaded:      now,
	}
	for _, n := range ns {
		if n.Revoked {
			s.revoked[n.Name] = true
			continue
		}
		if !n.Enabled {
			continue
		}
		info, err := notaryInfoFrom(n)
		if err != nil {
			s.skipped[n.Name] = err
			continue
		}
		s.notaries = append(s.notaries, info)
	}
	for _, p := range pins {
		s.pins[pinKey{p.Host, p.Port, p.FingerprintSHA256}] = p
		if p.UntilChange {
			s.untilChange[siteKey{p.Host, p.Port}] = true
		}
	}
	return s, nil
}

// notaryInfoFrom builds the client's view of a stored notary: its hosts with their
// pinned certificates, and the v2 signing key from its bundle when it has one.
func notaryInfoFrom(n settings.Notary) (notaryInfo, error) {
	var b *protocol.Bundle
	if len(n.Bundle) > 0 {
		if pb, err := protocol.ParseBundle(n.Bundle); err == nil {
			b = &pb
		}
	}
	info := notaryInfo{Name: n.Name}
	for _, h := range n.Hosts {
		block, _ := pem.Decode([]byte(h.CertificatePEM))
		if block == nil || block.Type != "CERTIFICATE" {
			return notaryInfo{}, fmt.Errorf("failed to read certificate of notary %q host %q: not a PEM certificate", n.Name, h.Host)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return notaryInfo{}, fmt.Errorf("failed to read certificate of notary %q host %q: %w", n.Name, h.Host, err)
		}
		e := endpoint{Host: h.Host, Port: h.SSLPort, Pinned: cert}
		if b != nil {
			if key, err := b.V2PublicKey(protocol.BundleHost{Host: h.Host, Certificate: cert}); err == nil {
				if _, err := protocol.AlgorithmV2(key); err == nil {
					e.V2Key = key
				}
			}
		} else if _, err := protocol.AlgorithmV2(cert.PublicKey); err == nil {
			e.V2Key = cert.PublicKey
		}
		info.Endpoints = append(info.Endpoints, e)
	}
	if len(info.Endpoints) == 0 {
		return notaryInfo{}, fmt.Errorf("failed to use notary %q: it has no hosts", n.Name)
	}
	return info, nil
}
