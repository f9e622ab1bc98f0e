package settings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DefaultEventCap is how many events the history keeps; AddEvent drops the oldest.
const DefaultEventCap = 10000

// Event is one entry of the history.
type Event struct {
	ID     int64 // assigned by the store, increasing
	Time   time.Time
	Kind   string // e.g. the verifier's event kind
	Host   string
	Port   int
	Detail string // JSON, or empty
}

// AddEvent appends e to the history (a zero Time is now) and drops the oldest events
// beyond DefaultEventCap, in one transaction. It returns e with its ID and Time.
func (s *Store) AddEvent(ctx context.Context, e Event) (Event, error) {
	if e.Kind == "" {
		return Event{}, errors.New("failed to add event: the kind is empty")
	}
	if e.Detail != "" && !json.Valid([]byte(e.Detail)) {
		return Event{}, fmt.Errorf("failed to add event %q: the detail is not JSON", e.Kind)
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO events(time, kind, host, port, detail) VALUES(?, ?, ?, ?, ?)",
			nanos(e.Time), e.Kind, e.Host, e.Port, e.Detail)
		if err != nil {
			return err
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		// IDs only grow, so everything at or below the cap-th newest ID goes.
		_, err = tx.ExecContext(ctx, "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)", s.eventCap)
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("failed to add event %q: %w", e.Kind, err)
	}
	return e, nil
}

// Events returns up to limit events, newest first (by ID, the order they were added).
// A limit of 0 or less returns them all.
func (s *Store) Events(ctx context.Context, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, "SELECT id, time, kind, host, port, detail FROM events ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("failed to list events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Kind, &e.Host, &e.Port, &e.Detail); err != nil {
			return nil, fmt.Errorf("failed to list events: %w", err)
		}
		e.Time = fromNanos(t)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list events: %w", err)
	}
	return out, nil
}
