package core

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// TestDecisionsListAndRemove: every kind of exception the user makes shows in one
// list with when, why and for how long, and Remove ends each at once: the store and
// the verifier stop holding it. Real store, real verifier, a real notary on loopback.
func TestDecisionsListAndRemove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NoCA: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Verifier.ImportBundle(ctx, testnotary.Start(t, t.TempDir(), "Nordic", keys.KeyECDSA, 443), verifier.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if ds, err := c.Decisions(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("a new install has decisions: %+v, %v", ds, err)
	}

	site := verifier.Target{Host: "shop.example", Port: 443}
	fpDay, fpAlways := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	before := time.Now()
	for _, tc := range []struct {
		fp string
		d  TrustDuration
	}{{fpDay, TrustDay}, {fpAlways, TrustAlways}} {
		if err := c.TrustAnyway(ctx, verifier.Verdict{Target: site, FingerprintSHA256: tc.fp}, ScopeCertificate, tc.d, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.TrustAnyway(ctx, verifier.Verdict{Target: site, FingerprintSHA256: fpDay}, "site", TrustDay, ""); !errors.Is(err, ErrTrust) {
		t.Errorf("a scope other than the certificate: %v, want ErrTrust", err)
	}
	if err := c.TrustAnyway(ctx, verifier.Verdict{Target: site, FingerprintSHA256: fpDay}, ScopeCertificate, "forever", ""); !errors.Is(err, ErrTrust) {
		t.Errorf("an unknown duration: %v, want ErrTrust", err)
	}
	if _, err := c.UpdateSettings(ctx, func(s *settings.Settings) error {
		s.ExemptPrivate = true
		s.CleartextAllow = []string{"Chat.Example:5222"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, "Nordic"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verifier.Allow("portal.example", 0, 10*time.Minute, "captive portal sign-in page"); err != nil {
		t.Fatal(err)
	}

	ds, err := c.Decisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[DecisionKind]int{}
	for _, d := range ds {
		kinds[d.Kind]++
		if (d.Kind != DecisionAllowance && d.Made.Before(before.Add(-time.Second))) || d.Why == "" || d.What == "" || d.ID == "" {
			t.Errorf("decision without when, why or what: %+v", d)
		}
	}
	want := map[DecisionKind]int{DecisionCertificate: 2, DecisionPrivate: 1, DecisionCleartext: 1, DecisionRevoked: 1, DecisionAllowance: 1}
	if len(kinds) != len(want) || kinds[DecisionCertificate] != 2 || kinds[DecisionPrivate] != 1 || kinds[DecisionCleartext] != 1 || kinds[DecisionRevoked] != 1 || kinds[DecisionAllowance] != 1 {
		t.Fatalf("decision kinds %v, want %v", kinds, want)
	}
	byWhat := func(sub string) Decision {
		t.Helper()
		i := slices.IndexFunc(ds, func(d Decision) bool { return strings.Contains(d.What, sub) })
		if i < 0 {
			t.Fatalf("no decision says %q: %+v", sub, ds)
		}
		return ds[i]
	}
	day := byWhat(fpDay[:16])
	if day.Until.Sub(before) < 24*time.Hour-time.Minute || day.Until.Sub(before) > 24*time.Hour+time.Minute || !strings.HasPrefix(day.Lasts(), "until ") {
		t.Errorf("the 1-day trust lasts %q (until %s)", day.Lasts(), day.Until)
	}
	if got := byWhat(fpAlways[:16]).Lasts(); got != "always, until you remove it" {
		t.Errorf("the trust for always lasts %q", got)
	}
	tunnel := byWhat("chat.example:5222")
	portal := byWhat("Let portal.example through unchecked")
	if portal.Why != "captive portal sign-in page" || !strings.HasPrefix(portal.Lasts(), "until ") || portal.MadeWords() != "in this run of Convergence" {
		t.Errorf("the allowance: %+v, lasts %q, made %q", portal, portal.Lasts(), portal.MadeWords())
	}
	if _, err := c.RemoveDecision(ctx, portal.ID); err != nil {
		t.Fatal(err)
	}
	if c.Verifier.Exempt(verifier.Target{Host: "portal.example", Port: 443}) {
		t.Error("the portal is still let through after its decision was removed")
	}

	// Remove each: the verifier and the store stop holding it.
	if _, err := c.RemoveDecision(ctx, day.ID); err != nil {
		t.Fatal(err)
	}
	if pinned, _ := c.Store.Pinned(ctx, "shop.example", 443, fpDay); pinned {
		t.Error("the pin is still stored after its decision was removed")
	}
	if _, err := c.RemoveDecision(ctx, tunnel.ID); err != nil {
		t.Fatal(err)
	}
	if c.Verifier.CleartextAllowed("chat.example", 5222) {
		t.Error("the tunnel is still allowed after its decision was removed")
	}
	if _, err := c.RemoveDecision(ctx, "private-addresses"); err != nil {
		t.Fatal(err)
	}
	if c.Verifier.Exempt(verifier.Target{Host: "10.1.2.3", Port: 443}) {
		t.Error("private addresses are still exempt after the decision was removed")
	}
	if _, err := c.RemoveDecision(ctx, byWhat("Nordic").ID); err != nil {
		t.Fatal(err)
	}
	if ns, _ := c.Notaries(ctx); len(ns) != 1 || ns[0].Revoked {
		t.Errorf("the notary is still revoked after its decision was removed: %+v", ns)
	}
	if _, err := c.RemoveDecision(ctx, tunnel.ID); !errors.Is(err, ErrNoDecision) {
		t.Errorf("removing a decision twice: %v, want ErrNoDecision", err)
	}
	ds, err = c.Decisions(ctx)
	if err != nil || len(ds) != 1 || ds[0].Kind != DecisionCertificate {
		t.Fatalf("after removing all but one: %+v, %v", ds, err)
	}

	// The note of when the tunnel was allowed went with it: allowed again, it is dated anew.
	notes, err := c.Store.DecisionNotes(ctx)
	if err != nil || len(notes) != 0 {
		t.Errorf("notes left after their decisions were removed: %v, %v", notes, err)
	}
}

// TestTrustTerms: each duration gives the pin terms it says.
func TestTrustTerms(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    TrustDuration
		want verifier.PinTerms
	}{
		{TrustOnce, verifier.PinTerms{Until: now.Add(10 * time.Minute)}},
		{TrustDay, verifier.PinTerms{Until: now.Add(24 * time.Hour)}},
		{TrustUntilChange, verifier.PinTerms{UntilChange: true}},
		{TrustAlways, verifier.PinTerms{}},
	} {
		got, err := trustTerms(tc.d, now)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.d, got, err, tc.want)
		}
		if tc.d.Words() == string(tc.d) {
			t.Errorf("%s has no words", tc.d)
		}
	}
	if _, err := trustTerms("", now); !errors.Is(err, ErrTrust) {
		t.Errorf("an empty duration: %v", err)
	}
}
