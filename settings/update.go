package settings

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// UpdateSettings reads the settings, lets change edit them and stores the result, all
// in one write transaction: a change made at the same time by another process (the
// terminal beside the window) waits for it and is never undone by it, as it would be
// by a read, then a SaveSettings of the whole. An error from change, or invalid
// settings, stores nothing. It returns the settings stored.
func (s *Store) UpdateSettings(ctx context.Context, change func(*Settings) error) (Settings, error) {
	var st Settings
	err := s.write(ctx, func(tx *sql.Tx) error {
		stored, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		st = mergeSettings(stored)
		if err := change(&st); err != nil {
			return err
		}
		if err := st.Validate(); err != nil {
			return err
		}
		return writeSettings(ctx, tx, st)
	})
	if err != nil {
		return Settings{}, fmt.Errorf("failed to change settings: %w", err)
	}
	st.CleartextAllow, _ = NormalizeCleartextAllow(st.CleartextAllow)
	return st, nil
}

// readSettings reads the stored rows, key to JSON value, through q (the database or
// a transaction).
func readSettings(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[string]json.RawMessage, error) {
	rows, err := q.QueryContext(ctx, "SELECT key, value FROM settings")
	if err != nil {
		return nil, fmt.Errorf("failed to read settings: %w", err)
	}
	defer rows.Close()
	stored := map[string]json.RawMessage{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("failed to read settings: %w", err)
		}
		stored[k] = json.RawMessage(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read settings: %w", err)
	}
	return stored, nil
}

// writeSettings stores every field of st in tx, one row per key, with CleartextAllow in
// canonical form. st has been validated.
func writeSettings(ctx context.Context, tx *sql.Tx, st Settings) error {
	st.CleartextAllow, _ = NormalizeCleartextAllow(st.CleartextAllow) // Validate checked every entry
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("failed to encode settings: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("failed to encode settings: %w", err)
	}
	for k, v := range fields {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			k, string(v)); err != nil {
			return err
		}
	}
	return nil
}
