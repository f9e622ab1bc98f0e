package store

import (
	"context"
	"database/sql"
	"fmt"
)

// A migration is one versioned step of a store's schema. Each store keeps its list in
// order (versions 1, 2, ...), records the version it reached in schema_migrations, and
// applies at open only the steps above it, all in one transaction. Steps are append
// only: a released step is never edited, a change is a new step.
type migration struct {
	version int
	name    string
	sql     string
}

// SchemaVersion is the schema version this build's stores migrate to.
const SchemaVersion = 2

// sqliteMigrations are the SQLite file's steps. Step 1 is the schema the notary had
// before versioning (IF NOT EXISTS: a file made then is taken as it is).
var sqliteMigrations = []migration{
	{1, "observations", `
CREATE TABLE IF NOT EXISTS observations (
	target     TEXT    NOT NULL,
	sha256     TEXT    NOT NULL,
	sha1       TEXT    NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	cert       BLOB    NOT NULL,
	ca_valid   INTEGER NOT NULL,
	ca_detail  TEXT    NOT NULL,
	PRIMARY KEY (target, sha256)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS observations_by_last_seen ON observations (target, last_seen DESC);
CREATE INDEX IF NOT EXISTS observations_by_sha1 ON observations (target, sha1);`},
	{2, "probe leases", `
CREATE TABLE probe_leases (
	target  TEXT    NOT NULL PRIMARY KEY,
	holder  TEXT    NOT NULL,           -- '' when free
	expires INTEGER NOT NULL,           -- Unix milliseconds
	probes  INTEGER NOT NULL DEFAULT 0  -- probes of target ended under a lease
) WITHOUT ROWID;`},
}

// postgresMigrations are the PostgreSQL database's steps.
var postgresMigrations = []migration{
	{1, "observations", `
CREATE TABLE observations (
	target     TEXT    NOT NULL,
	sha256     TEXT    NOT NULL,
	sha1       TEXT    NOT NULL,
	first_seen BIGINT  NOT NULL,
	last_seen  BIGINT  NOT NULL,
	cert       BYTEA   NOT NULL,
	ca_valid   BOOLEAN NOT NULL,
	ca_detail  TEXT    NOT NULL,
	PRIMARY KEY (target, sha256)
);
CREATE INDEX observations_by_last_seen ON observations (target, last_seen DESC);
CREATE INDEX observations_by_sha1 ON observations (target, sha1);`},
	{2, "probe leases", `
CREATE TABLE probe_leases (
	target  TEXT        NOT NULL PRIMARY KEY,
	holder  TEXT        NOT NULL,           -- '' when free
	expires TIMESTAMPTZ NOT NULL,
	probes  BIGINT      NOT NULL DEFAULT 0  -- probes of target ended under a lease
);`},
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL)`

// pending returns the steps above version, or an error when the database is newer than
// this build (a fleet member older than the one that migrated it).
func pending(steps []migration, version int, where string) ([]migration, error) {
	last := steps[len(steps)-1].version
	if version > last {
		return nil, fmt.Errorf("failed to open store %s: its schema is version %d, this build knows up to %d: upgrade convergence-notary on this host to the fleet's version", where, version, last)
	}
	var out []migration
	for _, m := range steps {
		if m.version > version {
			out = append(out, m)
		}
	}
	return out, nil
}

// migrateSQLite brings the SQLite file to the last version.
func migrateSQLite(ctx context.Context, db *sql.DB, path string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin migration of %q: %w", path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrationsTable); err != nil {
		return fmt.Errorf("failed to create the migrations table in %q: %w", path, err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("failed to read the schema version of %q: %w", path, err)
	}
	steps, err := pending(sqliteMigrations, version, fmt.Sprintf("%q", path))
	if err != nil {
		return err
	}
	for _, m := range steps {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("failed to migrate %q to version %d (%s): %w", path, m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
			return fmt.Errorf("failed to record migration %d of %q: %w", m.version, path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit migration of %q: %w", path, err)
	}
	return nil
}
