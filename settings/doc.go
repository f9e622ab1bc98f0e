// Package settings is the one place that remembers things: the data dir, the SQLite
// store (settings, notaries, verdict cache, pins, events) and the secrets (keyring or file).
package settings
