package ui

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// BenchmarkActivity10k fills the Activity list with 10,000 verdicts, then measures
// one refresh of the list (filter, virtualised list update) per iteration, and reports
// the Go heap in use with the list full.
func BenchmarkActivity10k(b *testing.B) {
	u, _ := newTestUI(b, newStoreBackend(b))
	now := time.Now()
	for i := range 10000 {
		ev := disagreement(fmt.Sprintf("site%d.example", i), now.Add(time.Duration(i)*time.Millisecond))
		ev.Kind, ev.Verdict.Outcome = verifier.EventVerified, verifier.OutcomeTrusted
		u.Publish(ev)
	}
	waitIdle(b, u)
	if len(u.activity.shown) != 10000 {
		b.Fatalf("rows = %d, want 10000", len(u.activity.shown))
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			u.activity.filter.SetText("site99")
		} else {
			u.activity.filter.SetText("")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
}
