package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestSQLiteRecordAndHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "notary.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := Sighting{SHA256: "aa", SHA1: "AA", DER: []byte{1}, CAValid: true}
	b := Sighting{SHA256: "bb", SHA1: "BB", DER: []byte{2}, CADetail: "unknown authority"}
	t0 := time.Unix(1700000000, 0)
	if err := s.Record(ctx, "example.com:443", t0, []Sighting{a}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, "example.com:443", t0.Add(time.Hour), []Sighting{a, b}); err != nil {
		t.Fatal(err)
	}
	// An older sighting recorded late never moves last seen back.
	if err := s.Record(ctx, "example.com:443", t0.Add(-time.Hour), []Sighting{b}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, "other.example:443", t0, []Sighting{b}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopen: the data is on disk.
	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := s.History(ctx, "example.com:443")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 {
		t.Fatalf("history has %d rows, want 2: %+v", len(h), h)
	}
	if h[0].SHA256 != "aa" || !h[0].FirstSeen.Equal(t0) || !h[0].LastSeen.Equal(t0.Add(time.Hour)) || !h[0].CAValid {
		t.Errorf("a = %+v", h[0])
	}
	if h[1].SHA256 != "bb" || !h[1].FirstSeen.Equal(t0.Add(-time.Hour)) || !h[1].LastSeen.Equal(t0.Add(time.Hour)) || h[1].CADetail != "unknown authority" {
		t.Errorf("b = %+v", h[1])
	}
	if none, err := s.History(ctx, "absent.example:443"); err != nil || len(none) != 0 {
		t.Errorf("absent target: %v %v", none, err)
	}
	s.Close()
	if _, err := s.History(ctx, "example.com:443"); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: err = %v", err)
	}
}
