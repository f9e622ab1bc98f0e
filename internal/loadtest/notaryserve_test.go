package loadtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/loadrig"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// notaryBinsEnv names notary binaries to measure instead of this tree's, as
// label=path,label=path: two builds measured in the same rounds (the before and after
// figures in docs/SCALING.md).
const notaryBinsEnv = "CONVERGENCE_NOTARY_BENCH_BINS"

// BenchmarkNotaryServe runs the real `convergence-notary serve` side by side with a
// bare Go HTTPS handler, under wrk (32 keep-alive TLS connections, 2 threads): cached
// answers in v1 (ECDSA and RSA keys) and v2 (ECDSA and Ed25519), 5 rounds, each case
// run for 3 s between two 3 s runs of the bare handler, and prints each case's requests
// per second and its ratio to the mean of those two (median of the rounds), beside the
// control "bare again" (the bare handler as a case: the machine's noise) and
// "bare+timeouts" (the bare handler with the notary's timeouts). One op is the whole run.
func BenchmarkNotaryServe(b *testing.B) {
	var bins []loadrig.ServeBin
	for _, lp := range strings.Split(os.Getenv(notaryBinsEnv), ",") {
		if label, path, ok := strings.Cut(lp, "="); ok {
			bins = append(bins, loadrig.ServeBin{Label: label, Path: path})
		}
	}
	if len(bins) == 0 {
		bins = []loadrig.ServeBin{{Path: buildNotary(b)}}
	}
	loadrig.RaiseFileLimit(b, 8192)
	var results []loadrig.ServeResult
	for b.Loop() {
		var err error
		results, err = loadrig.RunServeBench(b, loadrig.ServeBenchConfig{Bins: bins, Conns: 32, Threads: 2, Duration: 3 * time.Second, Rounds: 5})
		if err != nil {
			b.Fatal(err)
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-20s %10s %8s   per round: req/s (ratio to the bare runs either side)\n", "case", "req/s", "ratio")
	for _, r := range results {
		name := strings.TrimPrefix(r.Bin+" "+r.Case.Name, " ")
		if r.Skipped != "" {
			fmt.Fprintf(&table, "%-20s skipped: %s\n", name, firstLine(r.Skipped))
			continue
		}
		ratio := loadrig.Median(r.Ratio)
		if r.Case == loadrig.ServeCases[0] {
			fmt.Fprintf(&table, "%-20s %10.0f %7.2fx   median of its %d runs, %.0f-%.0f\n", name, loadrig.Median(r.RPS), ratio,
				len(r.RPS), slices.Min(r.RPS), slices.Max(r.RPS))
			b.ReportMetric(loadrig.Median(r.RPS), "bare-req/s")
			continue
		}
		fmt.Fprintf(&table, "%-20s %10.0f %7.2fx   %s\n", name, loadrig.Median(r.RPS), ratio, rounds(r.RPS, r.Ratio))
		metric := strings.ReplaceAll(name, " ", "-")
		b.ReportMetric(loadrig.Median(r.RPS), metric+"-req/s")
		if r.Case.Proto != 0 || r.Case == loadrig.SignFloorCase || r.Case == loadrig.BareAgainCase || r.Case == loadrig.BareTimeoutsCase {
			b.ReportMetric(ratio, metric+"/bare")
		}
		if r.Case.Proto == 2 {
			if f := floorRatios(results, r.RPS); f != "" {
				fmt.Fprintf(&table, "%-20s %s\n", "", "of bare+ed25519: "+f)
			}
			if r.MeanBatch > 0 {
				fmt.Fprintf(&table, "%-20s answers per batch signature: %.1f\n", "", r.MeanBatch)
			}
		}
	}
	// On stdout: go test cuts a benchmark's log after ten lines.
	fmt.Print(table.String())
}

// floorRatios is a v2 case's requests per second over the sign floor's, per round and
// their median: how far the notary is below what one signature per request allows.
func floorRatios(results []loadrig.ServeResult, rps []float64) string {
	for _, f := range results {
		if f.Case == loadrig.SignFloorCase && len(f.RPS) == len(rps) {
			var rs []float64
			var parts []string
			for i := range rps {
				rs = append(rs, rps[i]/f.RPS[i])
				parts = append(parts, fmt.Sprintf("%.2fx", rs[i]))
			}
			return fmt.Sprintf("median %.2fx, per round %s", loadrig.Median(rs), strings.Join(parts, " "))
		}
	}
	return ""
}

func rounds(rps, ratio []float64) string {
	var parts []string
	for i := range rps {
		parts = append(parts, fmt.Sprintf("%.0f (%.2fx)", rps[i], ratio[i]))
	}
	return strings.Join(parts, ", ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// buildNotary builds this tree's notary as make notary-build does (CGO_ENABLED=0).
func buildNotary(tb testing.TB) string {
	tb.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("go tool not found")
	}
	bin := filepath.Join(tb.TempDir(), "convergence-notary")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/convergence-ng/convergence/cmd/convergence-notary")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("failed to build the notary: %v\n%s", err, out)
	}
	return bin
}

// TestNotaryServeRig starts the bench's real notary processes (ECDSA, RSA and, when the
// binary supports it, Ed25519 keys) and checks that the answers it measures are right:
// v1 and v2 answers about the site, verified with the client code against the notary's
// pinned certificate and its bundle's v2 key. It runs no load.
func TestNotaryServeRig(t *testing.T) {
	bin := buildNotary(t)
	_, port, fp1, fp256 := loadrig.StartBenchSite(t)
	// The sign floor (the v2 ceiling) signs each request, and a check that cannot tell a
	// bad signature would let it skip the work it stands for.
	floor, pub, err := loadrig.StartSignFloor(t)
	if err != nil {
		t.Fatal(err)
	}
	if err := loadrig.CheckSignFloor(floor+"/v2/check", pub, []byte(`{"nonce":"1"}`)); err != nil {
		t.Errorf("sign floor: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := loadrig.CheckSignFloor(floor+"/v2/check", other, []byte(`{"nonce":"2"}`)); !errors.Is(err, protocol.ErrBadSignature) {
		t.Errorf("sign floor checked with another key: %v, want %v", err, protocol.ErrBadSignature)
	}
	for _, kt := range []string{"ecdsa", "rsa", "ed25519"} {
		p, err := loadrig.StartServe(t, bin, kt, port)
		if err != nil {
			t.Fatalf("%s: %v", kt, err)
		}
		if err := p.CheckV1("127.0.0.1", port, fp1); err != nil {
			t.Errorf("%s v1: %v", kt, err)
		}
		alg, err := p.CheckV2("127.0.0.1", port, fp256)
		if err != nil {
			t.Errorf("%s v2: %v", kt, err)
		}
		if want := map[string]string{"ecdsa": "ecdsa-p256-sha256", "rsa": "ed25519", "ed25519": "ed25519"}[kt]; alg != want && err == nil {
			t.Errorf("%s v2 signed with %q, want %q", kt, alg, want)
		}
	}
}
