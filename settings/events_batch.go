package settings

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// AddEvents appends events to the history in order, in one transaction (one disk sync
// instead of one an event), and drops the oldest events beyond DefaultEventCap. Each
// event is checked and stamped as AddEvent does; one bad event adds none. The app's
// history writer (internal/core) writes its queued events with it, and tools that fill
// a history at once.
func (s *Store) AddEvents(ctx context.Context, events []Event) error {
	rows := make([]Event, len(events))
	for i, e := range events {
		if e.Kind == "" {
			return fmt.Errorf("failed to add events: event %d: the kind is empty", i)
		}
		if e.Detail != "" && !json.Valid([]byte(e.Detail)) {
			return fmt.Errorf("failed to add events: event %d (%q): the detail is not JSON", i, e.Kind)
		}
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		rows[i] = e
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, "INSERT INTO events(time, kind, host, port, detail) VALUES(?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, e := range rows {
			if _, err := ins.ExecContext(ctx, nanos(e.Time), e.Kind, e.Host, e.Port, e.Detail); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)", s.eventCap)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to add %d events: %w", len(rows), err)
	}
	return nil
}
