package settings

import (
	"context"
	"testing"
)

// TestPassthroughSitesKeptAndCounted: a decision to verify without reading is kept
// for its exact, normalised host:port, moves the change counter both ways (the
// running proxy learns of it), and is removed.
func TestPassthroughSitesKeptAndCounted(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	before, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddPassthrough(ctx, "Bank.Example.", 443, "asks for a client certificate"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPassthrough(ctx, "bank.example", 0, ""); err == nil {
		t.Error("port 0 was accepted")
	}
	ps, err := s.PassthroughSites(ctx)
	if err != nil || len(ps) != 1 || ps[0].Host != "bank.example" || ps[0].Port != 443 || ps[0].Created.IsZero() || ps[0].Note == "" {
		t.Fatalf("PassthroughSites = %+v, %v", ps, err)
	}
	mid, _ := s.Changes(ctx)
	if mid == before {
		t.Error("adding did not move the change counter")
	}
	if err := s.RemovePassthrough(ctx, "bank.example", 443); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.PassthroughSites(ctx); len(ps) != 0 {
		t.Fatalf("after remove: %+v", ps)
	}
	if after, _ := s.Changes(ctx); after == mid {
		t.Error("removing did not move the change counter")
	}
}
