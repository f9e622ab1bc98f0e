package ui

import (
	"sync"
	"testing"
)

// activityMemory holds the memory figures of BenchmarkActivity10k, taken once per
// process: in the first run, when its UI is the only one the process built. Fyne's
// test driver never empties fyne's renderer cache (a real window's driver does when
// it closes), so the UIs of earlier runs stay reachable and would be counted again.
var activityMemory struct {
	once       sync.Once
	idle, full memFigures
}

// BenchmarkActivity10k fills the Activity list with 10,000 verdicts, then measures
// one refresh of the list (filter, virtualised list update) per iteration. It reports
// the process's resident memory and Go heap with the UI built and idle, and again with
// the list full (each after a forced collection), and how many row widgets the list
// created for the 10,000 verdicts (TestActivityListIsVirtualised bounds that number).
func BenchmarkActivity10k(b *testing.B) {
	u, _ := newTestUI(b, newStoreBackend(b))
	created := countCreatedRows(u)
	measured := false
	activityMemory.once.Do(func() {
		activityMemory.idle = measureMemory()
		fillActivity(b, u, activityRows)
		activityMemory.full = measureMemory()
		measured = true
	})
	if !measured {
		fillActivity(b, u, activityRows)
	}
	rows := created() // before the loop: its filtering makes the list build rows anew
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			u.activity.filter.SetText("site99")
		} else {
			u.activity.filter.SetText("")
		}
	}
	b.StopTimer()
	idle, full := activityMemory.idle, activityMemory.full
	b.ReportMetric(idle.heap, "heap-idle-MB")
	b.ReportMetric(full.heap, "heap-10k-MB")
	if idle.rss >= 0 {
		b.ReportMetric(idle.rss, "rss-idle-MB")
		b.ReportMetric(full.rss, "rss-10k-MB")
	}
	b.ReportMetric(float64(rows), "rows-created")
}
