package verifier

import (
	"context"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// The verifier owns the small interfaces it needs from the settings store;
// *settings.Store satisfies all of them (a compile-time check is in verifier_test.go).

// SettingsSource reads the user's settings and the install's subset key.
type SettingsSource interface {
	Settings(ctx context.Context) (settings.Settings, error)
	// SubsetKey is the per-install secret that picks which notaries are asked about a
	// site when not all are (Settings.MaxNotaries).
	SubsetKey(ctx context.Context) ([]byte, error)
}

// NotaryStore keeps the notaries: imported, enabled, revoked.
type NotaryStore interface {
	Notaries(ctx context.Context) ([]settings.Notary, error)
	Notary(ctx context.Context, name string) (settings.Notary, error)
	PutNotary(ctx context.Context, n settings.Notary) (settings.Notary, error)
	RevokeNotary(ctx context.Context, name string) error
	UnrevokeNotary(ctx context.Context, name string) error
	SetNotaryEnabled(ctx context.Context, name string, enabled bool) error
	DeleteNotary(ctx context.Context, name string) error
}

// CacheStore keeps verdicts across restarts, behind the verifier's memory cache.
type CacheStore interface {
	PutCache(ctx context.Context, e settings.CacheEntry) error
	LookupCache(ctx context.Context, host string, port int, fp string, now time.Time) (settings.CacheEntry, error)
	CacheEntries(ctx context.Context) ([]settings.CacheEntry, error)
	DeleteCache(ctx context.Context, host string, port int) (int, error)
	DeleteCacheEntry(ctx context.Context, host string, port int, fp string) error
	DeleteCacheVouchedBy(ctx context.Context, notary string) (int, error)
	ClearCache(ctx context.Context) (int, error)
}

// PinStore keeps the user's exceptions: "trust this certificate for this site".
type PinStore interface {
	Pins(ctx context.Context) ([]settings.Pin, error)
	PutPin(ctx context.Context, p settings.Pin) error
	DeletePin(ctx context.Context, host string, port int, fp string) error
	DeletePinsChangedFrom(ctx context.Context, host string, port int, fp string) (int, error)
}

// Store is everything the verifier reads and writes; *settings.Store is one.
type Store interface {
	SettingsSource
	NotaryStore
	CacheStore
	PinStore
}
