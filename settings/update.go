package settings

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
		before := st
		before.CleartextAllow = slices.Clone(st.CleartextAllow)
		if err := change(&st); err != nil {
			return err
		}
		if err := st.Validate(); err != nil {
			return err
		}
		if err := noteExceptions(ctx, tx, before, st, s.now()); err != nil {
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
	rows, err := fields(st)
	if err != nil {
		return err
	}
	for k, v := range rows {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			k, string(v)); err != nil {
			return err
		}
	}
	return nil
}

// Changes returns the change (for UpdateSettings) that sets the settings in which
// edited differs from base, the settings as they were shown, and leaves every other one
// as it is by then: a form saved whole would undo what another face changed meanwhile.
func Changes(base, edited Settings) func(*Settings) error {
	b, errB := fields(base)
	e, errE := fields(edited)
	diff := map[string]json.RawMessage{}
	for k, v := range e {
		if !bytes.Equal(v, b[k]) {
			diff[k] = v
		}
	}
	return func(cur *Settings) error {
		if err := errors.Join(errB, errE); err != nil {
			return err
		}
		if len(diff) == 0 {
			return nil
		}
		raw, err := json.Marshal(diff)
		if err != nil {
			return fmt.Errorf("failed to encode settings: %w", err)
		}
		return json.Unmarshal(raw, cur) // sets the keys in diff only
	}
}

// fields returns st as its stored rows, key to JSON value.
func fields(st Settings) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("failed to encode settings: %w", err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("failed to encode settings: %w", err)
	}
	return out, nil
}
