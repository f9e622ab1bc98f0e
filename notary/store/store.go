// Package store keeps what a notary has seen: one row per (target, certificate) with its
// first and last sighting, in a SQLite file (one process) or a PostgreSQL database (a
// fleet of processes sharing it), and hands out probe leases so one probe per target
// runs across a fleet. The interface the notary needs is its own (server.Store); the
// stores here implement it.
package store

import (
	"errors"
	"time"
)

// ErrClosed is returned by a store used after Close.
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
