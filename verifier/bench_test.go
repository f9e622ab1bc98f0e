package verifier

import (
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/convergence-ng/convergence/settings"
)

// BenchmarkVerifyCacheHit measures a verdict served from the memory cache.
func BenchmarkVerifyCacheHit(b *testing.B) {
	e := newEnv(b, nil)
	e.start(Config{})
	for _, n := range []string{"a", "b", "c"} {
		e.add(n, modeHonest)
	}
	wantOutcome(b, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	tg := Target{Host: "site.example", Port: 443}
	chain := []*x509.Certificate{e.real}
	b.ReportAllocs()
	for b.Loop() {
		vd, err := e.v.Verify(e.ctx, tg, chain)
		if err != nil || vd.Source != SourceCache {
			b.Fatalf("%v %v", vd.Source, err)
		}
	}
}

// BenchmarkVerifyMiss measures a full check (cache off) against honest v2 notaries on
// loopback, majority rule, connections kept alive between checks.
func BenchmarkVerifyMiss(b *testing.B) {
	for _, count := range []int{3, 10} {
		b.Run(fmt.Sprintf("notaries=%d", count), func(b *testing.B) {
			e := newEnv(b, func(s *settings.Settings) { s.CacheTTL = 0 })
			e.start(Config{})
			for i := range count {
				e.add(fmt.Sprintf("n%d", i), modeHonest)
			}
			tg := Target{Host: "site.example", Port: 443}
			chain := []*x509.Certificate{e.real}
			for b.Loop() {
				vd, err := e.v.Verify(e.ctx, tg, chain)
				if err != nil || !vd.Allowed() || vd.Source != SourceNotaries {
					b.Fatalf("%+v %v", vd, err)
				}
			}
		})
	}
}
