package verifier

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// TestRevocationPurgeAndReimport: under "2 of n", site one is vouched by b and c (a
// cannot reach it), and site two by a and b (c cannot reach it). Revoking a must keep
// site one's verdict (b and c still vouch), drop site two's (b alone), stop asking a at
// once, and make a re-import of a's bundle ask for confirmation.
func TestRevocationPurgeAndReimport(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "in memory"
		if restart {
			name = "after restart" // the verdicts come back from SQLite without their counts
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(s *settings.Settings) { s.Threshold, s.ThresholdK = settings.ThresholdKOfN, 2 })
			e.start(Config{})
			old := time.Now().Add(-30 * 24 * time.Hour)
			one := Target{Host: "one.example", Port: 443}
			two := Target{Host: "two.example", Port: 443}
			a := startNotary(t, "a", modeHonest, e.real, old)
			b := startNotary(t, "b", modeHonest, e.real, old)
			c := startNotary(t, "c", modeHonest, e.real, old)
			a.views = map[string]*x509.Certificate{"one.example": nil}
			c.views = map[string]*x509.Certificate{"two.example": nil}
			for _, n := range []*testNotary{a, b, c} {
				e.importNotary(n)
			}
			check := func(tg Target, want Outcome, src Source) Verdict {
				t.Helper()
				vd, err := e.v.Verify(e.ctx, tg, []*x509.Certificate{e.real})
				if err != nil {
					t.Fatal(err)
				}
				wantOutcome(t, vd, want, src)
				return vd
			}
			if vd := check(one, OutcomeTrusted, SourceNotaries); vd.Agreed != 2 {
				t.Fatalf("site one agreed %d, want 2 (b and c)", vd.Agreed)
			}
			if vd := check(two, OutcomeTrusted, SourceNotaries); vd.Agreed != 2 {
				t.Fatalf("site two agreed %d, want 2 (a and b)", vd.Agreed)
			}
			if restart {
				e.v.Close()
				e.start(Config{})
			}

			dropped, err := e.v.Revoke(e.ctx, "a")
			if err != nil || dropped != 1 {
				t.Fatalf("Revoke = %d, %v; want 1 verdict dropped", dropped, err)
			}
			entries, err := e.store.CacheEntries(e.ctx)
			if err != nil || len(entries) != 1 || entries[0].Host != "one.example" {
				t.Fatalf("cache after revocation: %+v, %v", entries, err)
			}
			aAsked := a.requests.Load()
			check(one, OutcomeTrusted, SourceCache)
			vd := check(two, OutcomeRejected, SourceNotaries) // b alone of 2: c cannot see it; a is gone
			if a.requests.Load() != aAsked || vd.Asked != 2 {
				t.Fatalf("the revoked notary was asked again (asked %d)", vd.Asked)
			}

			// Re-importing the revoked bundle, by name or by certificate, needs a confirmation.
			path := a.bundleFile(e.dir)
			if _, err := e.v.ImportBundle(e.ctx, path, ImportOptions{}); !errors.Is(err, ErrPreviouslyRevoked) {
				t.Fatalf("re-import: %v, want ErrPreviouslyRevoked", err)
			}
			renamed, err := protocol.MarshalBundle(protocol.Bundle{Version: 1, Name: "a-renamed", Hosts: []protocol.BundleHost{{
				Host: "127.0.0.1", SSLPort: a.port(), CertificatePEM: certPEM(a.cert)}}})
			if err != nil {
				t.Fatal(err)
			}
			rpath := filepath.Join(e.dir, "renamed.notary")
			if err := os.WriteFile(rpath, renamed, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := e.v.ImportBundle(e.ctx, rpath, ImportOptions{}); !errors.Is(err, ErrPreviouslyRevoked) {
				t.Fatalf("re-import under another name: %v, want ErrPreviouslyRevoked", err)
			}
			n, err := e.v.ImportBundle(e.ctx, path, ImportOptions{ConfirmRevoked: true})
			if err != nil || n.Revoked || !n.Enabled {
				t.Fatalf("confirmed re-import: %+v, %v", n, err)
			}
			check(two, OutcomeTrusted, SourceNotaries)
		})
	}
}
