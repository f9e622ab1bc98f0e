package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
)

// BenchmarkHoard measures another client's answer (v2, from the store, on a new
// connection from 127.0.0.2) with no hoarder, and while clients hold silent connections
// and reopen each one the notary closes, in the same run. The notary has 128
// connections, 32 per client, and the default timeouts (a 5 s handshake timeout).
// "no-share" gives the hoarder all 128 (today's shared limit, with the pressure
// timeout only). Run: go test -run '^$' -bench BenchmarkHoard -benchtime 20x ./notary/server
func BenchmarkHoard(b *testing.B) {
	cert := testtarget.NewCert(b, "127.0.0.1")
	site := testtarget.StartSite(b, "127.0.0.1:0", cert)
	e := newEnv(b, envOpts{allow: true, ports: []int{site.Port()}})
	cfg := ServeConfig{MaxConns: 128, MaxConnsPerClient: 32}
	for _, bc := range []struct {
		name     string
		perShare int      // the per-client share; 0: cfg's
		hoarders []string // their addresses, 200 connections each
	}{
		{"no-hoarder", 0, nil},
		{"one-hoarder", 0, []string{"127.0.0.1"}},
		{"one-hoarder-no-share", 128, []string{"127.0.0.1"}},
		{"five-hoarders", 0, []string{"127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := cfg
			if bc.perShare > 0 {
				c.MaxConnsPerClient = bc.perShare
			}
			base := serveReal(b, e, c)
			other := otherClient(e, "127.0.0.2")
			ask := func() {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				if code, err := askV2(ctx, other, base, site.Port(), fp256(cert)); err != nil || code != http.StatusOK {
					b.Fatalf("another client: %d %v", code, err)
				}
			}
			ask() // primes the store
			for _, src := range bc.hoarders {
				h := startHoard(b, strings.TrimPrefix(base, "https://"), src, 200, true)
				defer h.Stop()
			}
			for b.Loop() {
				ask()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/answer")
		})
	}
}
