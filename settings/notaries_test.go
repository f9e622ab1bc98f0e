package settings

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func testNotary(name string, hosts int) Notary {
	n := Notary{Name: name, Region: "eu", Source: "test", Enabled: true, Bundle: []byte(`{"name":"` + name + `"}`)}
	for i := 0; i < hosts; i++ {
		n.Hosts = append(n.Hosts, NotaryHost{Host: fmt.Sprintf("n%d.%s.test", i, name), SSLPort: 443 + i, HTTPPort: 80, CertificatePEM: fmt.Sprintf("-----BEGIN CERTIFICATE-----\n%d\n", i)})
	}
	return n
}

// fixedClock makes s stamp times from a clock the test moves.
func fixedClock(s *Store, t0 time.Time) *time.Time {
	now := t0
	s.now = func() time.Time { return now }
	return &now
}

func TestPutNotaryInsertAndReplace(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	now := fixedClock(s, time.Unix(1_700_000_000, 0))

	in := testNotary("alpha", 2)
	got, err := s.PutNotary(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || !got.AddedAt.Equal(*now) || !got.UpdatedAt.Equal(*now) || !got.Enabled || got.Revoked {
		t.Errorf("inserted = %+v", got)
	}
	if len(got.Hosts) != 2 || got.Hosts[1] != in.Hosts[1] || string(got.Bundle) != string(in.Bundle) {
		t.Errorf("hosts or bundle differ: %+v", got)
	}

	// The user disables it; a re-import (ID 0) replaces the hosts but keeps the state.
	if err := s.SetNotaryEnabled(ctx, "alpha", false); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Hour)
	re := testNotary("alpha", 3)
	re.Region, re.Enabled = "us", true
	got2, err := s.PutNotary(ctx, re)
	if err != nil {
		t.Fatal(err)
	}
	if got2.ID != got.ID || got2.Enabled || !got2.AddedAt.Equal(got.AddedAt) || !got2.UpdatedAt.Equal(*now) || got2.Region != "us" || len(got2.Hosts) != 3 {
		t.Errorf("re-import = %+v; want same ID, still disabled, AddedAt kept, 3 hosts", got2)
	}

	// A value read from the store and edited (same ID) takes the caller's state.
	got2.Enabled = true
	got2.Hosts = got2.Hosts[:1]
	got3, err := s.PutNotary(ctx, got2)
	if err != nil {
		t.Fatal(err)
	}
	if !got3.Enabled || len(got3.Hosts) != 1 {
		t.Errorf("edit = %+v; want enabled with one host", got3)
	}

	// A wrong ID is refused.
	got3.ID++
	if _, err := s.PutNotary(ctx, got3); err == nil {
		t.Error("PutNotary accepted an ID that is not the stored one")
	}
	if _, err := s.PutNotary(ctx, Notary{Name: " "}); err == nil {
		t.Error("PutNotary accepted an empty name")
	}
	if _, err := s.PutNotary(ctx, Notary{Name: "x", Hosts: []NotaryHost{{Host: "h", SSLPort: 0}}}); err == nil {
		t.Error("PutNotary accepted port 0")
	}
	var hosts int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM notary_hosts").Scan(&hosts); err != nil || hosts != 1 {
		t.Errorf("notary_hosts holds %d rows, %v; want 1 (old hosts replaced)", hosts, err)
	}
}

func TestRevokedNotaryStaysRevokedOnReimport(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	now := fixedClock(s, time.Unix(1_700_000_000, 0))
	if _, err := s.PutNotary(ctx, testNotary("beta", 1)); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Minute)
	if err := s.RevokeNotary(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutNotary(ctx, testNotary("beta", 1)); err != nil {
		t.Fatal(err)
	}
	list, err := s.Notaries(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Notaries = %v, %v", list, err)
	}
	if !list[0].Revoked || !list[0].RevokedAt.Equal(*now) {
		t.Errorf("after re-import: %+v; want still revoked at %v", list[0], *now)
	}
	if err := s.UnrevokeNotary(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	n, err := s.Notary(ctx, "beta")
	if err != nil || n.Revoked || !n.RevokedAt.IsZero() {
		t.Errorf("after unrevoke: %+v, %v", n, err)
	}
}

func TestNotariesListAndNotFound(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	for _, name := range []string{"gamma", "alpha", "beta"} {
		if _, err := s.PutNotary(ctx, testNotary(name, len(name)-3)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.Notaries(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("Notaries = %v, %v", list, err)
	}
	for i, want := range []string{"alpha", "beta", "gamma"} {
		if list[i].Name != want || len(list[i].Hosts) != len(want)-3 {
			t.Errorf("list[%d] = %s with %d hosts, want %s with %d", i, list[i].Name, len(list[i].Hosts), want, len(want)-3)
		}
	}
	if err := s.DeleteNotary(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Notary":           func() error { _, err := s.Notary(ctx, "beta"); return err }(),
		"DeleteNotary":     s.DeleteNotary(ctx, "beta"),
		"SetNotaryEnabled": s.SetNotaryEnabled(ctx, "nope", true),
		"RevokeNotary":     s.RevokeNotary(ctx, "nope"),
		"UnrevokeNotary":   s.UnrevokeNotary(ctx, "nope"),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing notary: %v, want ErrNotFound", name, err)
		}
	}
	var hosts int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM notary_hosts").Scan(&hosts); err != nil || hosts != 2+2 {
		t.Errorf("notary_hosts holds %d rows, %v; want 4 (beta's deleted with it)", hosts, err)
	}
}
