package loadrig

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/server"
)

// ServeBenchConfig sets up a side-by-side run of the real notary binary against a bare
// Go HTTPS handler, all under wrk over keep-alive TLS.
type ServeBenchConfig struct {
	Bins     []ServeBin    // the convergence-notary binaries, each measured in every round
	Conns    int           // wrk connections (keep-alive), e.g. 32
	Threads  int           // wrk threads
	Duration time.Duration // of each wrk run
	Rounds   int           // every case once per round; ratios are per round, then the median
}

// ServeBin is a notary binary to measure, with the label its cases get ("" for one).
type ServeBin struct {
	Label, Path string
}

// ServeCase is one measured configuration.
type ServeCase struct {
	Name    string // "bare", "v1-ecdsa", ...
	KeyType string // notary --key-type; "" for the bare handler
	Proto   int    // 1 or 2; 0 for the bare handler
}

// ServeCases are the cases make bench runs, bare first.
var ServeCases = []ServeCase{
	{Name: "bare"},
	{Name: "v1-ecdsa", KeyType: "ecdsa", Proto: 1},
	{Name: "v1-rsa", KeyType: "rsa", Proto: 1},
	{Name: "v2-ecdsa", KeyType: "ecdsa", Proto: 2},
	{Name: "v2-ed25519", KeyType: "ed25519", Proto: 2},
}

// BareAgainCase is the bench's control: the bare handler measured as a case, between
// two runs of itself. Its ratios, which would all be 1.00 on a quiet machine, show how
// far this machine's noise moves the others'.
var BareAgainCase = ServeCase{Name: "bare again"}

// BareTimeoutsCase is the bare handler on a server with the notary's timeouts
// (server.DefaultReadTimeout and the rest): what those alone cost (net/http sets five
// deadlines a request with them, none without), the part of the notary's distance to
// the bare handler that is the price of serving the internet rather than its own code.
var BareTimeoutsCase = ServeCase{Name: "bare+timeouts"}

// ServeResult is what one case did over the rounds.
type ServeResult struct {
	Bin     string // the binary's label
	Case    ServeCase
	RPS     []float64 // requests per second, one per round (the bare handler: every run)
	Ratio   []float64 // RPS over the mean of the bare runs just before and just after
	Skipped string    // why the case did not run (the binary refused the key type)
	// MeanBatch is, for a v2 case, the answers per batch signature over the whole run
	// (the notary's /metrics); 0 when it made none (a build from before batches).
	MeanBatch float64
}

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// RunServeBench starts a loopback TLS site, the bare handler, the sign floor
// (SignFloorCase, driven by the v2 requests) and one notary process per
// key type, checks that each notary's v1 and v2 answers verify with the client code
// (and primes them: the answers come from the notary's record of the site), then runs
// wrk against every case, round after round, each case between two runs of the bare
// handler.
func RunServeBench(tb testing.TB, cfg ServeBenchConfig) ([]ServeResult, error) {
	tb.Helper()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errNoWrk
	}
	_, sitePort, fp1, fp256 := StartBenchSite(tb)

	bareURL, err := startBare(tb, false)
	if err != nil {
		return nil, err
	}
	timeoutsURL, err := startBare(tb, true)
	if err != nil {
		return nil, err
	}
	scripts := tb.TempDir()
	v1Script, err := writeScript(scripts, "v1.lua", v1Lua(fp1))
	if err != nil {
		return nil, err
	}
	v2Script, err := writeScript(scripts, "v2.lua", v2Lua("127.0.0.1", sitePort, fp256))
	if err != nil {
		return nil, err
	}
	v1Path := protocol.V1Path("127.0.0.1", sitePort)

	var results []ServeResult
	type run struct{ url, script string }
	var runs []run
	v2Procs := map[int]*ServeProc{} // result index: the process a v2 case ran on
	results = append(results, ServeResult{Case: ServeCases[0]}, ServeResult{Case: BareAgainCase}, ServeResult{Case: BareTimeoutsCase})
	runs = append(runs, run{bareURL + v1Path, v1Script}, run{bareURL + v1Path, v1Script}, run{timeoutsURL + v1Path, v1Script})
	floorURL, floorKey, err := StartSignFloor(tb)
	if err != nil {
		return nil, err
	}
	if err := CheckSignFloor(floorURL+protocol.V2Path, floorKey, []byte(`{"nonce":"check"}`)); err != nil {
		return nil, err
	}
	results = append(results, ServeResult{Case: SignFloorCase})
	runs = append(runs, run{floorURL + protocol.V2Path, v2Script})
	for _, bin := range cfg.Bins {
		procs := map[string]*ServeProc{}
		skipped := map[string]string{}
		for _, c := range ServeCases[1:] {
			res := ServeResult{Bin: bin.Label, Case: c}
			p, ok := procs[c.KeyType]
			if !ok && skipped[c.KeyType] == "" {
				if p, err = StartServe(tb, bin.Path, c.KeyType, sitePort); err != nil {
					skipped[c.KeyType] = err.Error()
				}
				procs[c.KeyType] = p
			}
			if res.Skipped = skipped[c.KeyType]; res.Skipped != "" {
				results, runs = append(results, res), append(runs, run{})
				continue
			}
			var r run
			if c.Proto == 1 {
				if err := p.CheckV1("127.0.0.1", sitePort, fp1); err != nil {
					return nil, fmt.Errorf("%s %s: %w", bin.Label, c.Name, err)
				}
				r = run{p.URL(v1Path), v1Script}
			} else {
				if _, err := p.CheckV2("127.0.0.1", sitePort, fp256); err != nil {
					return nil, fmt.Errorf("%s %s: %w", bin.Label, c.Name, err)
				}
				r = run{p.URL(protocol.V2Path), v2Script}
				v2Procs[len(results)] = p
			}
			results, runs = append(results, res), append(runs, r)
		}
	}
	// A short warm-up of every server (heap growth, connection set-up).
	for i, r := range runs {
		if results[i].Skipped == "" {
			if _, err := runWrk(wrk, cfg.Threads, cfg.Conns, time.Second, r.script, r.url); err != nil {
				return nil, fmt.Errorf("%s: %w", results[i].Case.Name, err)
			}
		}
	}
	// Each case runs between two runs of the bare handler, and its ratio is to their
	// mean: this machine's throughput drifts by a tenth from one run to the next (the
	// "bare again" control shows by how much), and a ratio to a bare run made minutes
	// earlier in the round carried that drift whole.
	for range cfg.Rounds {
		before, err := runWrk(wrk, cfg.Threads, cfg.Conns, cfg.Duration, runs[0].script, runs[0].url)
		if err != nil {
			return nil, fmt.Errorf("bare: %w", err)
		}
		results[0].RPS, results[0].Ratio = append(results[0].RPS, before), append(results[0].Ratio, 1)
		for i, r := range runs[1:] {
			i++
			if results[i].Skipped != "" {
				continue
			}
			rps, err := runWrk(wrk, cfg.Threads, cfg.Conns, cfg.Duration, r.script, r.url)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", results[i].Bin, results[i].Case.Name, err)
			}
			after, err := runWrk(wrk, cfg.Threads, cfg.Conns, cfg.Duration, runs[0].script, runs[0].url)
			if err != nil {
				return nil, fmt.Errorf("bare: %w", err)
			}
			results[i].RPS = append(results[i].RPS, rps)
			results[i].Ratio = append(results[i].Ratio, rps/((before+after)/2))
			results[0].RPS, results[0].Ratio = append(results[0].RPS, after), append(results[0].Ratio, 1)
			before = after
		}
	}
	for i, p := range v2Procs {
		if results[i].MeanBatch, err = p.MeanBatch(); err != nil {
			return nil, fmt.Errorf("%s %s: %w", results[i].Bin, results[i].Case.Name, err)
		}
	}
	return results, nil
}

// StartBenchSite starts the loopback TLS site the notaries vouch for and returns it with
// its port and its leaf's SHA-1 (v1) and SHA-256 (v2) fingerprints.
func StartBenchSite(tb testing.TB) (*httptest.Server, int, string, string) {
	tb.Helper()
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	site.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	site.StartTLS()
	tb.Cleanup(site.Close)
	leaf := site.Certificate().Raw
	return site, site.Listener.Addr().(*net.TCPAddr).Port, protocol.SHA1Fingerprint(leaf), protocol.SHA256Fingerprint(leaf)
}

// startBare serves a bare Go HTTPS handler (net/http, TLS with an ECDSA P-256 key like
// the notary's default, keep-alive) that reads the request and writes a small JSON body;
// with timeouts, its server has the notary's (BareTimeoutsCase).
func startBare(tb testing.TB, timeouts bool) (string, error) {
	id, err := keys.LoadOrCreate(filepath.Join(tb.TempDir(), "bare"), keys.KeyECDSA, []string{"127.0.0.1"})
	if err != nil {
		return "", err
	}
	bare := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fingerprintList": [], "signature": ""}`))
	}))
	bare.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	if timeouts {
		bare.Config.ReadHeaderTimeout, bare.Config.ReadTimeout = server.DefaultReadHeaderTimeout, server.DefaultReadTimeout
		bare.Config.WriteTimeout, bare.Config.IdleTimeout = server.DefaultWriteTimeout, server.DefaultIdleTimeout
	}
	bare.TLS = &tls.Config{Certificates: []tls.Certificate{id.TLS}}
	bare.StartTLS()
	tb.Cleanup(bare.Close)
	return bare.URL, nil
}

func writeScript(dir, name, text string) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("failed to write wrk script: %w", err)
	}
	return path, nil
}

func v1Lua(fp1 string) string {
	return `wrk.method = "POST"
wrk.body = "fingerprint=` + strings.ReplaceAll(fp1, ":", "%3A") + `"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
`
}

// v2Lua sends v2 requests, each with a nonce of its own (a thread prefix and a counter).
func v2Lua(host string, port int, fp string) string {
	return `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["` + protocol.V2BatchHeader + `"] = "` + protocol.V2BatchMerkle + `"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
function request()
  n = n + 1
  local nonce = string.format("%08x0000000000000000%08x", tid, n)
  return wrk.format(nil, nil, nil, '{"host":"` + host + `","port":` + strconv.Itoa(port) + `,"sha256":"` + fp + `","nonce":"' .. nonce .. '"}')
end
`
}

var (
	reqPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	non2xx    = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	sockErrs  = regexp.MustCompile(`Socket errors:.*`)
)

// runWrk runs wrk once and returns its requests per second; any answer other than 2xx
// or a socket error fails the run.
func runWrk(wrk string, threads, conns int, d time.Duration, script, url string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(int(d.Seconds()))+"s", "-s", script, url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("failed to run wrk: %w: %s", err, out)
	}
	if m := non2xx.FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("wrk saw %s answers other than 2xx: %s", m[1], out)
	}
	if m := sockErrs.Find(out); m != nil {
		return 0, fmt.Errorf("wrk saw socket errors: %s", out)
	}
	m := reqPerSec.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("failed to read wrk's requests/sec: %s", out)
	}
	rps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || rps == 0 {
		return 0, fmt.Errorf("wrk made no requests (%v): %s", err, out)
	}
	return rps, nil
}
