package settings

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema steps in order: migrations[i] takes the schema from
// version i to i+1 (PRAGMA user_version). Append only: never edit a step that has
// shipped, add one that changes what it made.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL -- JSON
) STRICT;

CREATE TABLE notaries (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	region          TEXT NOT NULL DEFAULT '',
	bundle_location TEXT NOT NULL DEFAULT '',
	source          TEXT NOT NULL DEFAULT '',
	enabled         INTEGER NOT NULL DEFAULT 1,
	revoked         INTEGER NOT NULL DEFAULT 0,
	revoked_at      INTEGER NOT NULL DEFAULT 0, -- Unix ns, 0 when not revoked
	added_at        INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	bundle          BLOB
) STRICT;

CREATE TABLE notary_hosts (
	notary_id       INTEGER NOT NULL REFERENCES notaries(id) ON DELETE CASCADE,
	position        INTEGER NOT NULL,
	host            TEXT NOT NULL,
	ssl_port        INTEGER NOT NULL,
	http_port       INTEGER NOT NULL,
	certificate_pem TEXT NOT NULL,
	PRIMARY KEY (notary_id, position)
) STRICT;

CREATE TABLE cache (
	host        TEXT NOT NULL,
	port        INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	created     INTEGER NOT NULL,
	expires     INTEGER NOT NULL,
	PRIMARY KEY (host, port, fingerprint)
) STRICT;
CREATE INDEX cache_expires ON cache(expires);

CREATE TABLE cache_vouchers (
	host        TEXT NOT NULL,
	port        INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	notary      TEXT NOT NULL,
	PRIMARY KEY (host, port, fingerprint, notary),
	FOREIGN KEY (host, port, fingerprint) REFERENCES cache(host, port, fingerprint) ON DELETE CASCADE
) STRICT;
CREATE INDEX cache_vouchers_notary ON cache_vouchers(notary);

CREATE TABLE pins (
	host        TEXT NOT NULL,
	port        INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	created     INTEGER NOT NULL,
	PRIMARY KEY (host, port, fingerprint)
) STRICT;

CREATE TABLE events (
	id     INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	kind   TEXT NOT NULL,
	host   TEXT NOT NULL DEFAULT '',
	port   INTEGER NOT NULL DEFAULT 0,
	detail TEXT NOT NULL DEFAULT ''
) STRICT;
`,
	// 2: the per-install secret, and a change counter that every write to what a
	// running app holds in memory (settings, notaries, pins, cache removals) bumps,
	// whichever process makes it: the app watches it (Store.Changes).
	`
CREATE TABLE install (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT;

CREATE TABLE changes (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
) STRICT;
INSERT INTO changes(id, n) VALUES (1, 0);
CREATE TRIGGER settings_insert_changes AFTER INSERT ON settings BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER settings_update_changes AFTER UPDATE ON settings BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER settings_delete_changes AFTER DELETE ON settings BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER notaries_insert_changes AFTER INSERT ON notaries BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER notaries_update_changes AFTER UPDATE ON notaries BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER notaries_delete_changes AFTER DELETE ON notaries BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER notary_hosts_insert_changes AFTER INSERT ON notary_hosts BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER notary_hosts_update_changes AFTER UPDATE ON notary_hosts BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER notary_hosts_delete_changes AFTER DELETE ON notary_hosts BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pins_insert_changes AFTER INSERT ON pins BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pins_update_changes AFTER UPDATE ON pins BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pins_delete_changes AFTER DELETE ON pins BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cache_delete_changes AFTER DELETE ON cache BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
`,
	// 3: the user's decisions say for how long (issue 15): a pin may end at a time
	// (expires, Unix ns, 0 never) or when the site shows another certificate
	// (until_change); decision_notes keeps when and why the user made the exceptions
	// that live in the settings (a cleartext tunnel, the private-address exemption).
	`
ALTER TABLE pins ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pins ADD COLUMN until_change INTEGER NOT NULL DEFAULT 0;
CREATE TABLE decision_notes (
	kind    TEXT NOT NULL,
	key     TEXT NOT NULL,
	created INTEGER NOT NULL,
	note    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (kind, key)
) STRICT;
`,
	// 4: what each desktop's proxy setting was before "Protect this computer" changed
	// it (one row per mechanism, kept until it is put back), so that a crash does not
	// lose it (issue 14). Its writes move the change counter: the window shows a
	// change made on the terminal.
	`
CREATE TABLE system_proxy (
	mechanism TEXT PRIMARY KEY,
	previous  TEXT NOT NULL, -- the mechanism's own record of what was there (JSON)
	applied   TEXT NOT NULL, -- what we set it to (the PAC URL or proxy URL)
	saved_at  INTEGER NOT NULL
) STRICT;
CREATE TRIGGER system_proxy_insert_changes AFTER INSERT ON system_proxy BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER system_proxy_update_changes AFTER UPDATE ON system_proxy BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER system_proxy_delete_changes AFTER DELETE ON system_proxy BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
`,
	// 5: the sites the user chose to verify without reading (issue 17 item 4): the
	// proxy checks the certificate with a handshake of its own and relays the app's
	// TLS untouched, for that exact host:port. Its writes move the change counter: the
	// running proxy learns of a decision made or removed on the terminal.
	`
CREATE TABLE passthrough_sites (
	host    TEXT NOT NULL,
	port    INTEGER NOT NULL,
	created INTEGER NOT NULL,
	note    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (host, port)
) STRICT;
CREATE TRIGGER passthrough_sites_insert_changes AFTER INSERT ON passthrough_sites BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER passthrough_sites_update_changes AFTER UPDATE ON passthrough_sites BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER passthrough_sites_delete_changes AFTER DELETE ON passthrough_sites BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
`,
}

// migrate applies the missing steps, each in its own transaction together with the
// user_version bump, so a crash leaves the schema at a whole version. It refuses a
// database whose version is higher than this build knows, before writing anything.
func (s *Store) migrate(ctx context.Context) error {
	v, err := userVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("%w: schema version %d, this build knows up to %d", ErrNewerSchema, v, len(migrations))
	}
	for v < len(migrations) {
		err := s.write(ctx, func(tx *sql.Tx) error {
			// Read again under the write lock: another process may have migrated.
			cur, err := userVersion(ctx, tx)
			if err != nil {
				return err
			}
			if cur != v {
				v = cur
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("failed to apply migration %d: %w", v+1, err)
			}
			// PRAGMA takes no parameters; v+1 is our own integer.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
				return fmt.Errorf("failed to set schema version %d: %w", v+1, err)
			}
			v++
			return nil
		})
		if err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("%w: schema version %d, this build knows up to %d", ErrNewerSchema, v, len(migrations))
		}
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func userVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("failed to read schema version: %w", err)
	}
	return v, nil
}
