package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// The user's decisions: every exception the user made to what the notaries decide,
// in one list, each with when, why and for how long, and one way to remove it. The
// window's "Your decisions" tab and 'convergence decisions list|remove' are this.

// DecisionKind names what a decision is.
type DecisionKind string

// The kinds of decision.
const (
	// DecisionCertificate: a certificate trusted anyway for a site (a pin).
	DecisionCertificate DecisionKind = "certificate"
	// DecisionPrivate: sites at private addresses are not checked (a setting).
	DecisionPrivate DecisionKind = "private-addresses"
	// DecisionCleartext: a tunnel that is not TLS let through to a host:port.
	DecisionCleartext DecisionKind = "cleartext"
	// DecisionRevoked: a notary the user stopped trusting.
	DecisionRevoked DecisionKind = "revoked-notary"
	// DecisionAllowance: a site let through unchecked for a while (the block page's
	// "allow for 10 minutes", a captive portal's sign-in page). Allowances live in the
	// running app's memory: only its window lists them, not another process.
	DecisionAllowance DecisionKind = "allowance"
	// DecisionPassthrough: a host:port verified without reading (passthrough.go).
	DecisionPassthrough DecisionKind = "verify-without-reading"
)

// Decision is one exception the user made.
type Decision struct {
	// ID names it for Remove and the terminal: stable while the decision exists.
	ID   string
	Kind DecisionKind
	// What says what it does, in plain words ("Trust certificate 3f2a9b1c… for
	// shop.example:443").
	What string
	// Why is the reason kept with it, in plain words.
	Why string
	// Made is when the user made it; zero when that was not recorded (a decision made
	// before this version).
	Made time.Time
	// Until, when not zero, is when it ends by itself. UntilChange: it ends when the
	// site shows another certificate.
	Until       time.Time
	UntilChange bool

	// what Remove acts on
	target      verifier.Target
	fingerprint string
	entry       string // the cleartext host:port, or the notary's name
}

// Lasts says for how long the decision holds, in plain words.
func (d Decision) Lasts() string {
	switch {
	case !d.Until.IsZero():
		return "until " + d.Until.Local().Format("2 Jan 15:04")
	case d.UntilChange:
		return "until the site changes its certificate"
	}
	return "always, until you remove it"
}

// MadeWords says when the decision was made.
func (d Decision) MadeWords() string {
	if d.Made.IsZero() && d.Kind == DecisionAllowance {
		return "in this run of Convergence"
	}
	if d.Made.IsZero() {
		return "date not recorded"
	}
	return d.Made.Local().Format("2 Jan 2006 15:04")
}

// RemoveWords says what removing it does.
func (d Decision) RemoveWords() string {
	switch d.Kind {
	case DecisionCertificate:
		return "the notaries decide about this certificate again"
	case DecisionPrivate:
		return "sites at private addresses are checked like any other"
	case DecisionCleartext:
		return "streams that are not TLS to it are refused again"
	case DecisionRevoked:
		return "the notary is trusted and asked again"
	case DecisionAllowance:
		return "the site is checked again from its next connection"
	case DecisionPassthrough:
		return "its connections are intercepted and checked again; open ones are closed"
	}
	return ""
}

// ErrNoDecision is matched by RemoveDecision's error for an ID that names no decision.
var ErrNoDecision = errors.New("no such decision")

// decisionID is kind's prefix and a short hash of key: stable, short enough to type.
func decisionID(prefix, key string) string {
	h := sha256.Sum256([]byte(prefix + "\x00" + key))
	return prefix + "-" + hex.EncodeToString(h[:4])
}

// Decisions lists the user's decisions in force: certificates trusted anyway (those
// that ended are left out), the private-address exemption, cleartext tunnels, revoked
// notaries and this process's allowances, newest first (those with no date last).
func (c *Core) Decisions(ctx context.Context) ([]Decision, error) {
	pins, err := c.Store.Pins(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	notes, err := c.Store.DecisionNotes(ctx)
	if err != nil {
		return nil, err
	}
	ns, err := c.Store.Notaries(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := c.Store.PassthroughSites(ctx)
	if err != nil {
		return nil, err
	}
	return decisionsFrom(pins, st, notes, ns, c.Verifier.Allowances(), ps, time.Now()), nil
}

// decisionsFrom builds the list from what the store holds, at now. A pure function.
func decisionsFrom(pins []settings.Pin, st settings.Settings, notes map[[2]string]settings.DecisionNote, ns []settings.Notary,
	allowed []verifier.Allowance, passthrough []settings.PassthroughSite, now time.Time) []Decision {
	out := passthroughDecisions(passthrough)
	for _, a := range allowed {
		if !now.Before(a.Until) {
			continue
		}
		why := a.Why
		if why == "" {
			why = "you allowed it"
		}
		out = append(out, Decision{
			ID: decisionID("allow", a.String()), Kind: DecisionAllowance,
			What: fmt.Sprintf("Let %s through unchecked", a), Why: why, Until: a.Until,
			target: verifier.Target{Host: a.Host, Port: a.Port},
		})
	}
	for _, p := range pins {
		if !p.Live(now) {
			continue
		}
		t := verifier.Target{Host: p.Host, Port: p.Port}
		why := p.Note
		if why == "" {
			why = "you trusted it anyway"
		}
		out = append(out, Decision{
			ID: decisionID("cert", t.String()+"|"+p.FingerprintSHA256), Kind: DecisionCertificate,
			What: fmt.Sprintf("Trust certificate %s… for %s", shortFP(p.FingerprintSHA256), t),
			Why:  why, Made: p.Created, Until: p.Expires, UntilChange: p.UntilChange,
			target: t, fingerprint: p.FingerprintSHA256,
		})
	}
	if st.ExemptPrivate {
		n := notes[[2]string{settings.NoteExemptPrivate, ""}]
		out = append(out, Decision{
			ID: "private-addresses", Kind: DecisionPrivate,
			What: "Do not check sites at private addresses (your home or office network)",
			Why:  "you turned it on in Settings: notaries cannot see such sites", Made: n.Created,
		})
	}
	for _, e := range st.CleartextAllow {
		n := notes[[2]string{settings.NoteCleartext, e}]
		out = append(out, Decision{
			ID: decisionID("tunnel", e), Kind: DecisionCleartext,
			What: fmt.Sprintf("Let streams that are not TLS to %s through, unchecked", e),
			Why:  "you allowed it (a service that does not start with TLS)", Made: n.Created,
			entry: e,
		})
	}
	for _, n := range ns {
		if !n.Revoked {
			continue
		}
		out = append(out, Decision{
			ID: decisionID("notary", n.Name), Kind: DecisionRevoked,
			What: fmt.Sprintf("Do not trust the notary %s", n.Name),
			Why:  "you revoked it: its answers are not counted", Made: n.RevokedAt,
			entry: n.Name,
		})
	}
	slices.SortStableFunc(out, func(a, b Decision) int {
		if a.Made.IsZero() != b.Made.IsZero() {
			if a.Made.IsZero() {
				return 1
			}
			return -1
		}
		if c := b.Made.Compare(a.Made); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// shortFP is the first 16 hex digits of a fingerprint, enough to tell two apart.
func shortFP(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return fp
}

// RemoveDecision ends the decision with this ID at once, and returns it: the
// certificate is checked by the notaries again, private addresses are checked, the
// tunnel is refused, the notary is trusted again. An ID that names none is an error
// matching ErrNoDecision.
func (c *Core) RemoveDecision(ctx context.Context, id string) (Decision, error) {
	ds, err := c.Decisions(ctx)
	if err != nil {
		return Decision{}, fmt.Errorf("failed to remove decision %q: %w", id, err)
	}
	i := slices.IndexFunc(ds, func(d Decision) bool { return d.ID == strings.TrimSpace(id) })
	if i < 0 {
		return Decision{}, fmt.Errorf("failed to remove decision %q: %w (list them with 'convergence decisions list')", id, ErrNoDecision)
	}
	d := ds[i]
	switch d.Kind {
	case DecisionCertificate:
		err = c.Verifier.Unpin(ctx, d.target, d.fingerprint)
	case DecisionPrivate:
		_, err = c.UpdateSettings(ctx, func(s *settings.Settings) error { s.ExemptPrivate = false; return nil })
	case DecisionCleartext:
		_, err = c.UpdateSettings(ctx, func(s *settings.Settings) error {
			s.CleartextAllow = slices.DeleteFunc(slices.Clone(s.CleartextAllow), func(e string) bool { return e == d.entry })
			return nil
		})
	case DecisionRevoked:
		err = c.Unrevoke(ctx, d.entry)
	case DecisionAllowance:
		err = c.EndAllowance(d.target.Host, d.target.Port)
	case DecisionPassthrough:
		err = c.endPassthrough(ctx, d.entry)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("failed to remove decision %q: %w", id, err)
	}
	return d, nil
}
