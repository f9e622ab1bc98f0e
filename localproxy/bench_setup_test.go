package localproxy

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkProxySetup measures new connections (TCP, TLS, one small GET, close) from
// 1, 8 and 64 clients at once, on the three paths of benchPaths in one run: the
// connection rate, the p50 and p99 of one connection's time, and (for the proxies)
// the p50 as a multiple of the direct path's p50 at the same client count. Issue 17's
// goals: p50 at most 1.5x direct, and at 8 clients at least 6x mitmproxy's rate.
func BenchmarkProxySetup(b *testing.B) { benchSetup(b, benchPaths(b, newSite(b, false))) }

// BenchmarkProxySetupResumed is BenchmarkProxySetup with clients that keep session
// tickets, as browsers do: on every path a new connection resumes the last session.
func BenchmarkProxySetupResumed(b *testing.B) {
	paths := benchPaths(b, newSite(b, false))
	for i, p := range paths {
		mk := p.client
		paths[i].client = func(keepAlive bool) *http.Client {
			c := mk(keepAlive)
			c.Transport.(*http.Transport).TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(64)
			return c
		}
	}
	benchSetup(b, paths)
}

func benchSetup(b *testing.B, paths []benchPath) {
	s := paths[0].site
	u := "https://127.0.0.1:" + s.port() + "/"
	for _, clients := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var directP50 time.Duration
			for _, p := range paths {
				b.Run(p.name, func(b *testing.B) {
					c := p.client(false)
					fetch(b, c, u) // warm the leaf cache: this measures connections, not minting
					b.ResetTimer()
					lat, elapsed, err := runSetup(b, clients, func() error { return fetchOnce(c, u) })
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					p50, p99 := percentile(lat, 50), percentile(lat, 99)
					b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "conns/s")
					b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
					if p.name == "direct" {
						directP50 = p50
					} else if directP50 > 0 {
						b.ReportMetric(float64(p50)/float64(directP50), "p50-x-direct")
					}
				})
			}
		})
	}
}

// runSetup makes b.N calls of do from clients goroutines and returns each call's
// duration, the time the whole run took and the first error.
func runSetup(b *testing.B, clients int, do func() error) ([]time.Duration, time.Duration, error) {
	var next atomic.Int64
	var mu sync.Mutex // protects all and first
	var all []time.Duration
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for range min(clients, b.N) {
		wg.Go(func() { // ends when b.N calls have been taken
			var mine []time.Duration
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := do(); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, time.Since(start), first
}

// fetchOnce GETs u and reads the whole answer; safe to call from any goroutine.
func fetchOnce(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// percentile returns the q-th percentile (nearest rank) of d, which it sorts.
func percentile(d []time.Duration, q int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := (len(d)*q + 99) / 100
	return d[max(i-1, 0)]
}
