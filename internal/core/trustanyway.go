package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// "Trust anyway": the user trusts a certificate the notaries did not vouch for. It
// always takes a scope and a duration (issue 15: a decision says what it covers and
// for how long), and it is listed in the user's decisions (Decisions) until it ends.

// TrustScope is what a "trust anyway" covers.
type TrustScope string

// ScopeCertificate is the one scope: this certificate only, for this site (host and
// port); another certificate for the same site is checked as before.
const ScopeCertificate TrustScope = "certificate"

// Words says the scope in plain words for the site t.
func (s TrustScope) Words(t verifier.Target) string {
	return fmt.Sprintf("This certificate only, for %s", t)
}

// TrustDuration is how long a "trust anyway" holds.
type TrustDuration string

// The durations, shortest first (TrustDurations).
const (
	TrustOnce        TrustDuration = "once"         // this visit: onceFor
	TrustDay         TrustDuration = "day"          // 24 hours
	TrustUntilChange TrustDuration = "until-change" // until the site shows another certificate
	TrustAlways      TrustDuration = "always"       // until the user removes it
)

// TrustDurations lists the durations in the order the window offers them.
var TrustDurations = []TrustDuration{TrustOnce, TrustDay, TrustUntilChange, TrustAlways}

// onceFor is how long "once" lasts: one visit of a site is a page and what it loads,
// over connections a browser opens and reopens for a few minutes, not one connection.
const onceFor = 10 * time.Minute

// ErrTrust is matched by the errors TrustAnyway returns for a request it refuses.
var ErrTrust = errors.New("cannot trust this certificate")

// Words says the duration in plain words, as the window's choice and the terminal's
// flag help say it.
func (d TrustDuration) Words() string {
	switch d {
	case TrustOnce:
		return fmt.Sprintf("Once: this visit (the next %d minutes)", int(onceFor.Minutes()))
	case TrustDay:
		return "For 1 day"
	case TrustUntilChange:
		return "Until the site changes its certificate"
	case TrustAlways:
		return "Always (until you remove it)"
	}
	return string(d)
}

// trustTerms turns a duration into a pin's terms, made at now. A pure function.
func trustTerms(d TrustDuration, now time.Time) (verifier.PinTerms, error) {
	switch d {
	case TrustOnce:
		return verifier.PinTerms{Until: now.Add(onceFor)}, nil
	case TrustDay:
		return verifier.PinTerms{Until: now.Add(24 * time.Hour)}, nil
	case TrustUntilChange:
		return verifier.PinTerms{UntilChange: true}, nil
	case TrustAlways:
		return verifier.PinTerms{}, nil
	}
	return verifier.PinTerms{}, fmt.Errorf("%w: duration %q (want once, day, until-change or always)", ErrTrust, d)
}

// TrustAnyway trusts the verdict's certificate for its site, whatever the notaries
// say, within scope and for d; why is the user's reason, kept with the decision (empty
// is "you trusted it anyway").
func (c *Core) TrustAnyway(ctx context.Context, v verifier.Verdict, scope TrustScope, d TrustDuration, why string) error {
	if scope != ScopeCertificate {
		return fmt.Errorf("failed to trust %q: %w: scope %q (want %q)", v.Target.String(), ErrTrust, scope, ScopeCertificate)
	}
	if v.FingerprintSHA256 == "" {
		return fmt.Errorf("failed to trust %q: %w: the verdict names no certificate", v.Target.String(), ErrTrust)
	}
	terms, err := trustTerms(d, time.Now())
	if err != nil {
		return fmt.Errorf("failed to trust %q: %w", v.Target.String(), err)
	}
	if why == "" {
		why = "you trusted it anyway"
	}
	// Pins that ended are dropped as a new one is made: no check reads them any more.
	if _, err := c.Store.PurgeExpiredPins(ctx, time.Now()); err != nil {
		return fmt.Errorf("failed to trust %q: %w", v.Target.String(), err)
	}
	return c.Verifier.PinFor(ctx, v.Target, v.FingerprintSHA256, why, terms)
}
