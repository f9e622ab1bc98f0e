// Package store keeps what a notary has seen: one row per (target, certificate) with its
// first and last sighting. The interface is narrow so a server database can back a fleet.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("store closed")

// MaxHistory bounds the observations History returns for one target.
const MaxHistory = 1024

// Sighting is one certificate seen on a target by one probe.
type Sighting struct {
	SHA256   string // lowercase hex of the leaf DER
	SHA1     string // uppercase colon hex of the leaf DER (v1)
	DER      []byte // the leaf certificate
	CAValid  bool   // the chain received with it validated against the system roots
	CADetail string // why it did not validate ("" when valid)
}

// Observation is what the store holds for one certificate on one target.
type Observation struct {
	Sighting
	FirstSeen time.Time
	LastSeen  time.Time
}

// Store records sightings and returns a target's history. Implementations are safe for
// concurrent use.
type Store interface {
	// Record adds the sightings of one probe of target made at time at: new certificates
	// get first and last seen = at; known ones get last seen = at (never moved back) and
	// the CA result of this sighting.
	Record(ctx context.Context, target string, at time.Time, seen []Sighting) error
	// History returns the target's observations, newest last seen first, at most
	// MaxHistory.
	History(ctx context.Context, target string) ([]Observation, error)
	// Close releases the store.
	Close() error
}
