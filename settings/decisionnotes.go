package settings

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// The exceptions that live in the settings (a cleartext tunnel allowed, private
// addresses not checked) have no row of their own to say when they were made: the
// store notes it in decision_notes, in the transaction that makes them, and forgets it
// in the one that ends them. The decisions list (core.Decisions) reads the notes.

// Decision-note kinds.
const (
	NoteCleartext     = "cleartext"      // key: the canonical host:port
	NoteExemptPrivate = "exempt-private" // key: ""
)

// DecisionNote says when an exception kept in the settings was made.
type DecisionNote struct {
	Kind, Key string
	Created   time.Time
	Note      string
}

// DecisionNotes returns every note, by kind and key.
func (s *Store) DecisionNotes(ctx context.Context) (map[[2]string]DecisionNote, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT kind, key, created, note FROM decision_notes")
	if err != nil {
		return nil, fmt.Errorf("failed to list decision notes: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]DecisionNote{}
	for rows.Next() {
		var n DecisionNote
		var created int64
		if err := rows.Scan(&n.Kind, &n.Key, &created, &n.Note); err != nil {
			return nil, fmt.Errorf("failed to list decision notes: %w", err)
		}
		n.Created = fromNanos(created)
		out[[2]string{n.Kind, n.Key}] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list decision notes: %w", err)
	}
	return out, nil
}

// noteExceptions notes, in tx, the exceptions after has that before had not (made at
// now) and forgets the ones it dropped. An exception that stays keeps its note.
func noteExceptions(ctx context.Context, tx *sql.Tx, before, after Settings, now time.Time) error {
	before.CleartextAllow, _ = NormalizeCleartextAllow(before.CleartextAllow)
	after.CleartextAllow, _ = NormalizeCleartextAllow(after.CleartextAllow)
	add := func(kind, key string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO decision_notes(kind, key, created) VALUES(?, ?, ?)
			ON CONFLICT(kind, key) DO NOTHING`, kind, key, nanos(now))
		return err
	}
	drop := func(kind, key string) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM decision_notes WHERE kind = ? AND key = ?", kind, key)
		return err
	}
	for _, e := range after.CleartextAllow {
		if !slices.Contains(before.CleartextAllow, e) {
			if err := add(NoteCleartext, e); err != nil {
				return fmt.Errorf("failed to note the cleartext tunnel %q: %w", e, err)
			}
		}
	}
	for _, e := range before.CleartextAllow {
		if !slices.Contains(after.CleartextAllow, e) {
			if err := drop(NoteCleartext, e); err != nil {
				return fmt.Errorf("failed to forget the note of the cleartext tunnel %q: %w", e, err)
			}
		}
	}
	var err error
	switch {
	case after.ExemptPrivate && !before.ExemptPrivate:
		err = add(NoteExemptPrivate, "")
	case !after.ExemptPrivate && before.ExemptPrivate:
		err = drop(NoteExemptPrivate, "")
	}
	if err != nil {
		return fmt.Errorf("failed to note the private-address exemption: %w", err)
	}
	return nil
}
