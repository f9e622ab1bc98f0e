package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/server"
	"github.com/convergence-ng/convergence/notary/store"
)

// The environment a fleet member can get its identity from, instead of files: the PEM
// of the TLS key (PKCS#8), of its certificate, and for an RSA key of the v2 signing key.
const (
	envKey   = "CONVERGENCE_NOTARY_KEY"
	envCert  = "CONVERGENCE_NOTARY_CERT"
	envV2Key = "CONVERGENCE_NOTARY_V2_KEY"
)

// loadIdentity returns the notary's identity: from the environment when envKey is set,
// else from the files in --key-dir. A notary on its own SQLite file creates its key on
// first start; a fleet member (a PostgreSQL store) and a reload never do: every member
// must sign with the one key its clients pinned, and the database never holds it.
func loadIdentity(c serveConfig, create bool) (*keys.Identity, error) {
	if pemKey := os.Getenv(envKey); pemKey != "" {
		return keys.FromPEM([]byte(pemKey), []byte(os.Getenv(envCert)), []byte(os.Getenv(envV2Key)), "$"+envKey)
	}
	if create && !c.fleet() {
		return keys.LoadOrCreate(c.keyDir, c.keyType, c.hosts)
	}
	if _, err := os.Stat(filepath.Join(c.keyDir, keys.KeyFile)); err != nil && create {
		return nil, usage(fmt.Sprintf("create the fleet's key once with \"convergence-notary keygen --key-dir %s --host NAME\" and copy %s and %s (and %s for RSA) to every member, or set $%s and $%s",
			c.keyDir, keys.KeyFile, keys.CertFile, keys.V2KeyFile, envKey, envCert),
			"no notary key in %q: a fleet member never creates one", c.keyDir)
	}
	return keys.Load(c.keyDir)
}

// fleet reports whether the store is shared by a fleet (PostgreSQL).
func (c *serveConfig) fleet() bool {
	return strings.HasPrefix(c.store, "postgres://") || strings.HasPrefix(c.store, "postgresql://")
}

// notaryStore is what serve needs of a store: the notary's interfaces and Close.
type notaryStore interface {
	server.Store
	server.Leaser
	Close() error
}

// openStore opens --store: a PostgreSQL URL, or the SQLite file (default DATA/notary.db).
func openStore(ctx context.Context, c serveConfig) (notaryStore, string, error) {
	if c.fleet() {
		st, err := store.OpenPostgres(ctx, c.store)
		if err != nil {
			return nil, "", err
		}
		return st, "postgres", nil
	}
	path := strings.TrimPrefix(c.store, "sqlite:")
	if path == "" {
		path = filepath.Join(c.data, "notary.db")
	}
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		return nil, "", err
	}
	return st, "sqlite", nil
}
