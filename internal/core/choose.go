package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// ErrNothingToChoose means the directories held list no notary that is not already
// trusted or revoked.
var ErrNothingToChoose = errors.New("no notary left to choose from")

// ErrOtherKeys means a directory lists a notary under the name of one trusted with other
// hosts or keys: it is not added in its place (KeyChange; the user decides, from a file).
var ErrOtherKeys = errors.New("a notary with this name is trusted with other hosts or keys")

// Choice is a notary the chooser picked from a directory, and why.
type Choice struct {
	DirectoryEntry
	Reason string
}

// matchesEntry reports whether n is the notary e lists: the same name, and the same
// hosts with the same pinned certificates. A notary with a known name but other hosts
// or keys is not described by the entry.
func matchesEntry(n settings.Notary, e directory.Entry) bool {
	if n.Name != e.Name() || len(n.Hosts) != len(e.Bundle.Hosts) {
		return false
	}
	for i, h := range n.Hosts {
		eh := e.Bundle.Hosts[i]
		if h.Host != eh.Host || h.SSLPort != eh.SSLPort || strings.TrimSpace(h.CertificatePEM) != strings.TrimSpace(eh.CertificatePEM) {
			return false
		}
	}
	return true
}

// factsOf returns what is known of a stored notary: its hosts, and what a directory
// held says of it when one lists it (matchesEntry).
func factsOf(n settings.Notary, entries []DirectoryEntry) directory.Facts {
	f := directory.Facts{Name: n.Name, Country: n.Region}
	for _, h := range n.Hosts {
		f.AddHost(h.Host, h.SSLPort)
	}
	for _, e := range entries {
		if matchesEntry(n, e.Entry) {
			f.Operator, f.Country, f.Network = e.Operator, e.Country, e.Network
			break
		}
	}
	return f
}

// NotaryFacts returns what is known of each notary asked (enabled and not revoked):
// its hosts and addresses, and who runs it, where and on which network when a
// directory held lists it.
func (c *Core) NotaryFacts(ctx context.Context) ([]directory.Facts, error) {
	ns, err := c.Notaries(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := c.DirectoryEntries(ctx)
	if err != nil {
		return nil, err
	}
	var out []directory.Facts
	for _, n := range ns {
		if n.Enabled && !n.Revoked {
			out = append(out, factsOf(n, entries))
		}
	}
	return out, nil
}

// DiversityWarnings lists the pairs of notaries asked that are not independent (they
// share a host, an address, an operator or a network): each pair counts as one vote.
func (c *Core) DiversityWarnings(ctx context.Context) ([]directory.Overlap, error) {
	fs, err := c.NotaryFacts(ctx)
	if err != nil {
		return nil, err
	}
	return directory.Overlaps(fs), nil
}

// syncFacts gives the verifier what the directories say of the notaries, so that the
// consensus groups the votes of notaries that are not independent.
func (c *Core) syncFacts(ctx context.Context) error {
	fs, err := c.NotaryFacts(ctx)
	if err != nil {
		return err
	}
	return c.Verifier.SetNotaryFacts(ctx, fs)
}

// ChooseNotaries picks up to n notaries (directory.DefaultChoose when n < 1) from the
// directories held, fetching them first when none is held, that are as independent as
// can be of each other and of the notaries trusted already (directory.Choose), each
// with why. Notaries trusted or revoked already are not offered. It adds nothing:
// AddDirectoryNotary does.
func (c *Core) ChooseNotaries(ctx context.Context, n int) ([]Choice, error) {
	entries, err := c.DirectoryEntries(ctx)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		if _, err := c.RefreshDirectories(ctx); err != nil {
			return nil, err
		}
		if entries, err = c.DirectoryEntries(ctx); err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			copies, _ := c.Directories(ctx)
			var errs []error
			for _, dc := range copies {
				errs = append(errs, dc.Err)
			}
			return nil, fmt.Errorf("failed to choose notaries: no directory could be fetched and none is held: %w", errors.Join(errs...))
		}
	}
	return c.chooseFrom(ctx, entries, n)
}

// chooseFrom is ChooseNotaries over the given entries.
func (c *Core) chooseFrom(ctx context.Context, entries []DirectoryEntry, n int) ([]Choice, error) {
	ns, err := c.Notaries(ctx)
	if err != nil {
		return nil, err
	}
	var held []directory.Facts
	known := map[string]bool{}
	for _, sn := range ns {
		known[sn.Name] = true
		if sn.Enabled && !sn.Revoked {
			held = append(held, factsOf(sn, entries))
		}
	}
	var pool []directory.Entry
	for _, e := range entries {
		if !known[e.Name()] {
			pool = append(pool, e.Entry)
		}
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("failed to choose notaries: the %d notaries the directories list are trusted or revoked already: %w", len(entries), ErrNothingToChoose)
	}
	var out []Choice
	for _, p := range directory.Choose(pool, held, n) {
		i := slices.IndexFunc(entries, func(e DirectoryEntry) bool { return e.Name() == p.Entry.Name() })
		out = append(out, Choice{DirectoryEntry: entries[i], Reason: p.Reason})
	}
	return out, nil
}

// AddDirectoryNotary trusts a notary a directory held lists, as the directory gives
// its bundle; where it came from is kept as "directory:URL".
func (c *Core) AddDirectoryNotary(ctx context.Context, e DirectoryEntry) (settings.Notary, error) {
	b, err := protocol.ParseBundle(e.BundleJSON)
	if err != nil {
		return settings.Notary{}, fmt.Errorf("failed to add notary %q from directory %q: %w", e.Name(), e.URL, err)
	}
	if kc, known, err := c.KeyChange(ctx, b); err != nil {
		return settings.Notary{}, err
	} else if known && kc.Changed {
		return settings.Notary{}, fmt.Errorf("failed to add notary %q from directory %q: %w; nothing was changed", e.Name(), e.URL, ErrOtherKeys)
	}
	n, err := c.ImportBundle(ctx, e.BundleJSON, "directory:"+e.URL, false)
	if err != nil {
		return settings.Notary{}, err
	}
	if err := c.syncFacts(ctx); err != nil {
		c.log.Warn("failed to group the notaries' votes by what the directories say", "err", err)
	}
	return n, nil
}

// FactsOfBundle returns what is known of a notary about to be added from its bundle:
// its hosts, and what a directory held says of it when one lists the same bundle.
func (c *Core) FactsOfBundle(ctx context.Context, b protocol.Bundle) (directory.Facts, error) {
	entries, err := c.DirectoryEntries(ctx)
	if err != nil {
		return directory.Facts{}, err
	}
	n := settings.Notary{Name: b.Name, Region: b.Region}
	for _, h := range b.Hosts {
		n.Hosts = append(n.Hosts, settings.NotaryHost{Host: h.Host, SSLPort: h.SSLPort, CertificatePEM: h.CertificatePEM})
	}
	return factsOf(n, entries), nil
}

// PreviewOverlaps lists what the candidates (notaries about to be added) share with
// the notaries asked now and with each other: each pair that would count as one vote.
// A notary asked now with a candidate's name is left out (adding it updates it).
func (c *Core) PreviewOverlaps(ctx context.Context, candidates []directory.Facts) ([]directory.Overlap, error) {
	held, err := c.NotaryFacts(ctx)
	if err != nil {
		return nil, err
	}
	isCand := map[string]bool{}
	for _, f := range candidates {
		isCand[f.Name] = true
	}
	all := slices.Clone(candidates)
	for _, h := range held {
		if !isCand[h.Name] {
			all = append(all, h)
		}
	}
	var out []directory.Overlap
	for _, o := range directory.Overlaps(all) {
		if isCand[o.A] || isCand[o.B] {
			out = append(out, o)
		}
	}
	return out, nil
}
