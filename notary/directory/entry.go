package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// ErrMalformed is matched by every error about a directory or an entry that does not
// follow the format (docs/PROTOCOL.md, "Notary directories").
var ErrMalformed = errors.New("malformed directory")

// ListedLayout is the layout of Entry.Listed: a calendar date.
const ListedLayout = "2006-01-02"

// Entry is one notary in a directory: its bundle and what the directory says of it.
type Entry struct {
	Operator  string // who runs the notary (a person or an organisation), 1-128 characters
	Country   string // ISO 3166 alpha-2 of where its hosts are, uppercase
	Network   string // the network its hosts are on: "AS64500" or a provider's name, 1-64 characters
	Contact   string // how to reach the operator (mailto: or https: URL, or free text), 1-256 characters
	Protocols []int  // protocol versions served, each 1 or 2, ascending, at least one
	Listed    string // the date it was listed, YYYY-MM-DD
	// BundleJSON is the .notary bundle exactly as it stands in the directory; Bundle is
	// it parsed (protocol.ParseBundle).
	BundleJSON []byte
	Bundle     protocol.Bundle
}

// Name is the notary's name: its bundle's.
func (e Entry) Name() string { return e.Bundle.Name }

type entryWire struct {
	Operator  string          `json:"operator"`
	Country   string          `json:"country"`
	Network   string          `json:"network"`
	Contact   string          `json:"contact"`
	Protocols []int           `json:"protocols"`
	Listed    string          `json:"listed"`
	Bundle    json.RawMessage `json:"bundle"`
}

// ParseEntry reads one entry (a JSON object) and checks it.
func ParseEntry(data []byte) (Entry, error) {
	var w entryWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Entry{}, fmt.Errorf("failed to parse directory entry: %w: %w", ErrMalformed, err)
	}
	return w.entry()
}

func (w entryWire) entry() (Entry, error) {
	if len(w.Bundle) == 0 {
		return Entry{}, fmt.Errorf("failed to parse directory entry: no bundle: %w", ErrMalformed)
	}
	b, err := protocol.ParseBundle(w.Bundle)
	if err != nil {
		return Entry{}, fmt.Errorf("failed to parse directory entry: %w: %w", ErrMalformed, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, w.Bundle); err != nil {
		return Entry{}, fmt.Errorf("failed to parse directory entry %q: %w: %w", b.Name, ErrMalformed, err)
	}
	e := Entry{Operator: strings.TrimSpace(w.Operator), Country: w.Country, Network: strings.TrimSpace(w.Network),
		Contact: strings.TrimSpace(w.Contact), Protocols: w.Protocols, Listed: w.Listed, BundleJSON: compact.Bytes(), Bundle: b}
	if err := e.check(); err != nil {
		return Entry{}, fmt.Errorf("failed to parse directory entry %q: %w", b.Name, err)
	}
	return e, nil
}

// check applies the format's rules to e's fields.
func (e Entry) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrMalformed)
	}
	switch {
	case e.Operator == "" || len(e.Operator) > 128:
		return bad("operator %q: want 1-128 characters", e.Operator)
	case !isCountry(e.Country):
		return bad("country %q: want an ISO 3166 alpha-2 code in capitals, like \"DE\"", e.Country)
	case e.Network == "" || len(e.Network) > 64:
		return bad("network %q: want an AS number like \"AS64500\" or a provider's name, 1-64 characters", e.Network)
	case e.Contact == "" || len(e.Contact) > 256:
		return bad("contact %q: want 1-256 characters", e.Contact)
	case len(e.Protocols) == 0:
		return bad("protocols: want at least one of 1, 2")
	}
	for i, p := range e.Protocols {
		if p != 1 && p != 2 || i > 0 && p <= e.Protocols[i-1] {
			return bad("protocols %v: want 1 and/or 2, ascending, once each", e.Protocols)
		}
	}
	if _, err := time.Parse(ListedLayout, e.Listed); err != nil {
		return bad("listed %q: want a date YYYY-MM-DD", e.Listed)
	}
	if slices.Contains(e.Protocols, 2) && !e.Bundle.SupportsV2() {
		return bad("protocols %v: the bundle does not advertise protocol 2", e.Protocols)
	}
	return nil
}

func isCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// MarshalEntry writes e as an indented JSON object, its bundle as given (BundleJSON),
// after checking it.
func MarshalEntry(e Entry) ([]byte, error) {
	w, err := e.wire()
	if err != nil {
		return nil, err
	}
	return marshalIndent(w)
}

func (e Entry) wire() (entryWire, error) {
	w := entryWire{Operator: e.Operator, Country: e.Country, Network: e.Network, Contact: e.Contact,
		Protocols: e.Protocols, Listed: e.Listed, Bundle: e.BundleJSON}
	// Round-trip through the parser: every rule is checked in one place.
	if _, err := w.entry(); err != nil {
		return entryWire{}, fmt.Errorf("failed to marshal directory entry: %w", err)
	}
	return w, nil
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("failed to encode directory: %w", err)
	}
	return buf.Bytes(), nil
}
