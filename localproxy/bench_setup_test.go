package localproxy

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkProxySetup measures new connections (TCP, TLS, one small GET, close) from
// 1, 8 and 64 clients at once, on the three paths of benchPaths in one run: for each
// path the connection rate, the p50 and p99 of one connection's time, the CPU time
// one connection costs (this process: client, site and our proxy; plus mitmdump's own
// process on its path), and how many TCP connections the site took per client
// connection. For the proxies also the p50 as a multiple of the direct path's, and
// our rate as a multiple of mitmproxy's. Issue 17's goals: p50 at most 1.5x direct,
// and at 8 clients at least 6x mitmproxy's rate.
//
// The paths take turns (setupRounds): on a machine shared with other work, a burst of
// load then falls on all of them alike, rather than on whichever path happened to run
// during it, and the ratios compare like with like.
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

// setupRounds is how many turns the paths take at most; a turn is at least
// setupPerClient connections per client, so that the end of a turn, when fewer
// than all clients are still busy, is a small part of it. Each path makes at least
// 2*setupPerClient connections per client, whatever b.N: the testing package sizes
// b.N on all paths' time together, which mitmproxy's dominates, and a path with
// fewer connections than clients would never have all its clients busy at once.
const (
	setupRounds    = 8
	setupPerClient = 8
)

// setupTally adds up one path's turns.
type setupTally struct {
	lat       []time.Duration
	elapsed   time.Duration
	cpu       time.Duration
	siteConns int64
}

func benchSetup(b *testing.B, paths []benchPath) {
	s := paths[0].site
	u := "https://127.0.0.1:" + s.port() + "/"
	for _, clients := range benchClients(b) {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			cs := make([]*http.Client, len(paths))
			for i, p := range paths {
				cs[i] = p.client(false)
				fetch(b, cs[i], u) // warm the leaf cache: this measures connections, not minting
			}
			tally := make([]setupTally, len(paths))
			total := max(b.N, 2*setupPerClient*clients) // connections per path
			rounds := max(1, min(setupRounds, total/(clients*setupPerClient)))
			b.ResetTimer()
			for done, r := 0, 0; done < total; r++ {
				n := (total - done) / (rounds - r)
				for i, p := range paths {
					c, t := cs[i], &tally[i]
					cpu0, site0 := benchCPU(p), s.conns.Load()
					lat, elapsed, err := runSetup(clients, n, func() error { return fetchOnce(c, u) })
					if err != nil {
						b.Fatalf("%s: %v", p.name, err)
					}
					t.lat = append(t.lat, lat...)
					t.elapsed += elapsed
					t.cpu += benchCPU(p) - cpu0
					t.siteConns += s.conns.Load() - site0
				}
				done += n
			}
			b.StopTimer()
			reportSetup(b, paths, tally)
		})
	}
}

// reportSetup reports each path's figures, prefixed by its name.
func reportSetup(b *testing.B, paths []benchPath, tally []setupTally) {
	rate := make(map[string]float64, len(paths))
	cpu := make(map[string]float64, len(paths))
	var directP50 time.Duration
	for i, p := range paths {
		t := tally[i]
		n := float64(len(t.lat))
		p50, p99 := percentile(t.lat, 50), percentile(t.lat, 99)
		rate[p.name] = n / t.elapsed.Seconds()
		b.ReportMetric(rate[p.name], p.name+"-conns/s")
		b.ReportMetric(float64(p50.Microseconds())/1000, p.name+"-p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, p.name+"-p99-ms")
		cpu[p.name] = float64(t.cpu.Microseconds()) / 1000 / n
		b.ReportMetric(cpu[p.name], p.name+"-cpu-ms/conn")
		b.ReportMetric(float64(t.siteConns)/n, p.name+"-site-conns/conn")
		if p.name == "direct" {
			directP50 = p50
		} else if directP50 > 0 {
			b.ReportMetric(float64(p50)/float64(directP50), p.name+"-p50-x-direct")
		}
	}
	if m := rate["via-mitmproxy"]; m > 0 {
		b.ReportMetric(rate["via-proxy"]/m, "proxy-rate-x-mitmproxy")
	}
	if c := cpu["via-proxy"]; c > 0 && cpu["via-mitmproxy"] > 0 {
		// The same comparison by CPU time, which a shared machine's load bends less.
		b.ReportMetric(cpu["via-mitmproxy"]/c, "proxy-cpu-x-mitmproxy")
	}
}

// benchCPU is the CPU time used so far by this process and by p's proxy process.
func benchCPU(p benchPath) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	d := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if p.cpu != nil {
		d += p.cpu()
	}
	return d
}

// procCPU is the CPU time process pid has used (user and system, from
// /proc/<pid>/stat, in clock ticks of 10 ms); 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command (which is in parentheses and may hold spaces):
	// state is the first, utime the 12th, stime the 13th.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// benchClients is the client counts benchSetup runs: 1, 8 and 64, or the
// comma-separated list in $CONVERGENCE_BENCH_CLIENTS (to look at the shape between).
func benchClients(b *testing.B) []int {
	env := os.Getenv("CONVERGENCE_BENCH_CLIENTS")
	if env == "" {
		return []int{1, 8, 64}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("CONVERGENCE_BENCH_CLIENTS=%q: want client counts like 1,8,64", env)
		}
		out = append(out, n)
	}
	return out
}

// runSetup makes n calls of do from clients goroutines and returns each call's
// duration, the time the whole run took and the first error.
func runSetup(clients, n int, do func() error) ([]time.Duration, time.Duration, error) {
	var next atomic.Int64
	var mu sync.Mutex // protects all and first
	var all []time.Duration
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for range min(clients, n) {
		wg.Go(func() { // ends when n calls have been taken
			var mine []time.Duration
			for next.Add(1) <= int64(n) {
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
