package loadtest

import (
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/loadrig"
)

// proxyConns is how many clients the proxy load run keeps going at once. The proxy
// serves MaxConns (512 by default) at a time; the rest wait in the listen backlog.
const proxyConns = 1000

// notaryClients is how many clients query the notary at once.
const notaryClients = 200

// BenchmarkLoadProxy drives the proxy with 1,000 concurrent clients, each request a
// new CONNECT with its own TLS handshake to the proxy, riding the proxy's verified
// connections to the site (their verdict rechecked from memory). One op is one round of 1,000 such requests started at once; a round takes
// seconds, so make bench's 2 s runs one round. Afterwards goroutines, open files and
// heap must return to their baseline.
//
// It runs twice: with the app's limits (MaxConns 512: the other clients wait in the
// listen backlog) and with MaxConns 1024, where all 1,000 tunnels are open at once.
func BenchmarkLoadProxy(b *testing.B) {
	b.Run("maxconns=default", func(b *testing.B) { benchProxy(b, 0) })
	b.Run("maxconns=1024", func(b *testing.B) { benchProxy(b, 1024) })
}

func benchProxy(b *testing.B, maxConns int) {
	loadrig.RaiseFileLimit(b, 8192)
	base := loadrig.Measure(b)
	r := loadrig.StartProxy(b, maxConns)
	if err := r.Get(); err != nil { // mint the leaf once, outside the timing
		b.Fatal(err)
	}
	r.ResetPeak()
	b.ResetTimer()
	start := time.Now()
	var peak int64
	for range b.N {
		p, err := loadrig.Run(proxyConns, proxyConns, r.Get)
		if err != nil {
			b.Fatalf("a request through the proxy failed: %v", err)
		}
		peak = max(peak, p)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*proxyConns)/elapsed.Seconds(), "conns/s")
	b.ReportMetric(float64(peak), "peak-clients")
	b.ReportMetric(float64(r.Peak()), "peak-tunnels")
	r.Stop()
	after, back := loadrig.WaitBaseline(b, base, 30*time.Second)
	b.Logf("%d rounds of %d: peak %d clients, %d tunnels at the site, in %s; baseline %v; after %v",
		b.N, proxyConns, peak, r.Peak(), elapsed.Round(time.Millisecond), base, after)
	if !back {
		loadrig.DumpGoroutines(b)
		b.Fatalf("did not return to baseline: before %v, after %v", base, after)
	}
}

// BenchmarkLoadNotary drives a real notary with 200 concurrent clients asking in v2
// about a site it has seen (the first query probes, the rest answer from the store
// within the freshness window). One op is one signed answer, verified by the client.
func BenchmarkLoadNotary(b *testing.B) {
	loadrig.RaiseFileLimit(b, 8192)
	base := loadrig.Measure(b)
	r := loadrig.StartNotary(b)
	if err := r.Query(); err != nil { // the probe, outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	peak, err := loadrig.Run(b.N, notaryClients, r.Query)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("a query failed: %v", err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "answers/s")
	b.ReportMetric(float64(peak), "peak-clients")
	r.Stop()
	after, back := loadrig.WaitBaseline(b, base, 30*time.Second)
	b.Logf("N=%d peak %d clients in %s; baseline %v; after %v", b.N, peak, elapsed.Round(time.Millisecond), base, after)
	if !back {
		loadrig.DumpGoroutines(b)
		b.Fatalf("did not return to baseline: before %v, after %v", base, after)
	}
}

// TestLoadReturnsToBaseline is the load run at a small scale (100 proxy clients, 50
// notary clients, 300 requests each): everything succeeds and goroutines, open files
// and heap come back to their baseline once the servers stop. The wait is a bounded
// poll, not a speed assertion.
func TestLoadReturnsToBaseline(t *testing.T) {
	loadrig.RaiseFileLimit(t, 4096)
	base := loadrig.Measure(t)
	p := loadrig.StartProxy(t, 0)
	if peak, err := loadrig.Run(300, 100, p.Get); err != nil {
		t.Fatalf("proxy load (peak %d clients): %v", peak, err)
	}
	n := loadrig.StartNotary(t)
	if peak, err := loadrig.Run(300, 50, n.Query); err != nil {
		t.Fatalf("notary load (peak %d clients): %v", peak, err)
	}
	// Each client connection gets a verdict (a cache hit in the app), and so does
	// each connection the proxy makes to the site, which it reuses for many clients.
	if calls, hs := p.CheckerCalls(), p.SiteHandshakes(); calls < 300 || calls > 300+hs || hs >= 300 {
		t.Errorf("the Checker was asked %d times for 300 client connections and %d connections to the site", calls, hs)
	}
	p.Stop()
	n.Stop()
	after, back := loadrig.WaitBaseline(t, base, 30*time.Second)
	t.Logf("baseline %v; after %v", base, after)
	if !back {
		loadrig.DumpGoroutines(t)
		t.Fatalf("did not return to baseline: before %v, after %v", base, after)
	}
}
