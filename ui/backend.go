package ui

import (
	"context"
	"crypto/x509"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// Backend is everything the desktop UI asks of the rest of the app: the application
// (*core.Core) implements it, the same operations the terminal uses. Every method may be called
// from any goroutine (never the UI goroutine: the UI calls them off it) and may block on
// disk or network until ctx is done.
type Backend interface {
	NotaryBackend
	SettingsBackend
	CacheBackend
	ProxyBackend
	HistoryBackend
	DirectoryBackend
	KeyChangeBackend
	DecisionsBackend
	SystemBackend
}

// DecisionsBackend lists and ends the user's decisions: the exceptions the user made
// to what the notaries decide (core.Decisions), as the terminal does.
type DecisionsBackend interface {
	// Decisions lists the decisions in force, newest first.
	Decisions(ctx context.Context) ([]core.Decision, error)
	// RemoveDecision ends the decision with this ID at once; an unknown ID is an
	// error matching core.ErrNoDecision.
	RemoveDecision(ctx context.Context, id string) (core.Decision, error)
}

// HistoryBackend reads the verdicts kept from earlier runs.
type HistoryBackend interface {
	// History returns at most limit past events, oldest first, for the Activity list at
	// start.
	History(ctx context.Context, limit int) ([]verifier.Event, error)
}

// NotaryBackend manages the user's notaries.
type NotaryBackend interface {
	// Notaries lists every notary, revoked ones included, in a stable order
	// (verifier.ListNotaries).
	Notaries(ctx context.Context) ([]settings.Notary, error)
	// PreviewBundle reads a .notary bundle from a file path or an https URL and parses
	// it without trusting it (verifier.ReadBundle). It returns the bytes read, which
	// ImportBundle trusts: what the user saw is what is trusted, even when the source
	// gives other bytes later. A malformed bundle is an error.
	PreviewBundle(ctx context.Context, src string) ([]byte, protocol.Bundle, error)
	// ImportBundle trusts raw, the bundle PreviewBundle read from src, without reading
	// src again (verifier.ImportBundleBytes; src is kept as where the notary came
	// from): a notary with the same name is updated. Unless confirmRevoked, a notary the
	// user revoked before fails with an error matching verifier.ErrPreviouslyRevoked.
	ImportBundle(ctx context.Context, raw []byte, src string, confirmRevoked bool) (settings.Notary, error)
	// Revoke stops trusting the named notary at once; it stays listed as revoked. It
	// returns how many cached verdicts that needed it were dropped.
	Revoke(ctx context.Context, name string) (int, error)
	// Unrevoke undoes Revoke (the UI offers it for a few seconds).
	Unrevoke(ctx context.Context, name string) error
	// SetNotaryEnabled turns a notary on or off without revoking it. It returns how
	// many cached verdicts that needed it were dropped.
	SetNotaryEnabled(ctx context.Context, name string, enabled bool) (int, error)
}

// SettingsBackend loads and stores the user's settings.
type SettingsBackend interface {
	// Settings returns the current settings (settings.Store.Settings).
	Settings(ctx context.Context) (settings.Settings, error)
	// UpdateSettings changes the settings in one write transaction and applies them
	// (the verifier reads them for the next check); the window passes
	// settings.Changes(shown, edited), so that a change made meanwhile on the terminal
	// to another setting stays. An invalid value is an error matching
	// settings.ErrInvalidSettings.
	UpdateSettings(ctx context.Context, change func(*settings.Settings) error) (settings.Settings, error)
}

// CacheBackend manages the verdict cache and the user's pins.
type CacheBackend interface {
	// CacheEntries lists the cached verdicts (settings.Store.CacheEntries).
	CacheEntries(ctx context.Context) ([]settings.CacheEntry, error)
	// ForgetSite removes the cached verdicts for the target (verifier.ClearCacheSite)
	// and, when fingerprintSHA256 is not empty, the user's pin for that certificate
	// (verifier.Unpin; a missing pin is not an error), so that the next visit asks the
	// notaries again.
	ForgetSite(ctx context.Context, target verifier.Target, fingerprintSHA256 string) error
	// ClearCache removes every cached verdict and returns how many there were
	// (verifier.ClearCache).
	ClearCache(ctx context.Context) (int, error)
	// Certificate returns the leaf certificate with this SHA-256 fingerprint (lowercase
	// hex) if the app still holds it; any error means "not kept" and the details show
	// the fingerprint alone.
	Certificate(ctx context.Context, fingerprintSHA256 string) (*x509.Certificate, error)
	// TrustAnyway trusts the verdict's certificate for its target whatever the notaries
	// say, within scope and for d (core.TrustAnyway); why is kept with the decision.
	TrustAnyway(ctx context.Context, v verifier.Verdict, scope core.TrustScope, d core.TrustDuration, why string) error
}

// Status is the state of the proxy and its supports, for the tray and the Setup tab:
// the application's (core.Status).
type Status = core.Status

// TrustStoreResult is the outcome of installing the local CA into one trust store
// (core.TrustStoreResult).
type TrustStoreResult = core.TrustStoreResult

// ProxyBackend reports on the proxy and the local CA, and pauses protection.
type ProxyBackend interface {
	// Status returns the current state; it must not block.
	Status() Status
	// SetPaused pauses (the proxy passes traffic through unchecked) or resumes protection.
	SetPaused(ctx context.Context, paused bool) error
	// CAPEM returns the local CA certificate in PEM, for export.
	CAPEM() []byte
	// InstallCA installs the local CA into the system and browser trust stores it finds,
	// and reports per store. An error means nothing could be tried.
	InstallCA(ctx context.Context) ([]TrustStoreResult, error)
	// OpenPortal lets the captive portal's sign-in page through unchecked for a while
	// and returns its URL (core.OpenPortal).
	OpenPortal(ctx context.Context) (string, error)
	// EndAllowance ends a destination's unchecked allowance before its time.
	EndAllowance(host string, port int) error
}
