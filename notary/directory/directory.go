package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits of the format.
const (
	MaxSize    = 4 << 20 // bytes of a directory file
	MaxEntries = 1000
)

// Directory is the signed body of a directory file.
type Directory struct {
	Name    string    // what the directory is, for the user: "Example community notaries"
	Issued  time.Time // when it was signed (UTC, seconds); a client keeps the newest it has seen
	Entries []Entry   // notary names are unique
}

type directoryWire struct {
	Version int         `json:"version"`
	Name    string      `json:"name"`
	Issued  string      `json:"issued"`
	Entries []entryWire `json:"entries"`
}

// Entry returns the entry of the notary named name.
func (d Directory) Entry(name string) (Entry, bool) {
	for _, e := range d.Entries {
		if e.Name() == name {
			return e, true
		}
	}
	return Entry{}, false
}

// MarshalBody writes d as the body of a directory file (indented JSON), after checking it.
func MarshalBody(d Directory) ([]byte, error) {
	w := directoryWire{Version: 1, Name: d.Name, Issued: d.Issued.UTC().Format(time.RFC3339), Entries: []entryWire{}}
	for _, e := range d.Entries {
		ew, err := e.wire()
		if err != nil {
			return nil, err
		}
		w.Entries = append(w.Entries, ew)
	}
	out, err := marshalIndent(w)
	if err != nil {
		return nil, err
	}
	if _, err := ParseBody(out); err != nil {
		return nil, fmt.Errorf("failed to marshal directory: %w", err)
	}
	return out, nil
}

// ParseBody reads and checks the body of a directory file. It does not check a
// signature: Open does, and is what a client calls.
func ParseBody(data []byte) (Directory, error) {
	if len(data) > MaxSize {
		return Directory{}, fmt.Errorf("failed to parse directory: %d bytes, limit %d: %w", len(data), MaxSize, ErrMalformed)
	}
	var w directoryWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Directory{}, fmt.Errorf("failed to parse directory: not the JSON of a directory: %w: %w", ErrMalformed, err)
	}
	if dec.More() {
		return Directory{}, fmt.Errorf("failed to parse directory: data after the JSON object: %w", ErrMalformed)
	}
	if w.Version != 1 {
		return Directory{}, fmt.Errorf("failed to parse directory: version %d: want 1: %w", w.Version, ErrMalformed)
	}
	d := Directory{Name: strings.TrimSpace(w.Name)}
	if d.Name == "" || len(d.Name) > 128 {
		return Directory{}, fmt.Errorf("failed to parse directory: name %q: want 1-128 characters: %w", w.Name, ErrMalformed)
	}
	issued, err := time.Parse(time.RFC3339, w.Issued)
	if err != nil {
		return Directory{}, fmt.Errorf("failed to parse directory %q: issued %q: want an RFC 3339 time: %w", d.Name, w.Issued, ErrMalformed)
	}
	d.Issued = issued.UTC()
	if len(w.Entries) > MaxEntries {
		return Directory{}, fmt.Errorf("failed to parse directory %q: %d entries, limit %d: %w", d.Name, len(w.Entries), MaxEntries, ErrMalformed)
	}
	seen := map[string]bool{}
	for i, ew := range w.Entries {
		e, err := ew.entry()
		if err != nil {
			return Directory{}, fmt.Errorf("failed to parse directory %q entry %d: %w", d.Name, i+1, err)
		}
		if seen[e.Name()] {
			return Directory{}, fmt.Errorf("failed to parse directory %q: notary %q is listed twice: %w", d.Name, e.Name(), ErrMalformed)
		}
		seen[e.Name()] = true
		d.Entries = append(d.Entries, e)
	}
	return d, nil
}

// ErrOlder means a directory was issued before the one already held: a replay of an
// old copy, which may list a notary since withdrawn.
var ErrOlder = errors.New("directory is older than the copy already held")

// CheckNewer returns ErrOlder (wrapped) when next was issued before held.
func CheckNewer(held, next Directory) error {
	if next.Issued.Before(held.Issued) {
		return fmt.Errorf("failed to accept directory %q issued %s: the copy held was issued %s: %w",
			next.Name, next.Issued.Format(time.RFC3339), held.Issued.Format(time.RFC3339), ErrOlder)
	}
	return nil
}
