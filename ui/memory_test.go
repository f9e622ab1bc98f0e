package ui

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/verifier"
)

// activityRows is how many verdicts the memory benchmark and the virtualisation test
// put in the Activity list: the most it keeps by default.
const activityRows = defaultMaxActivity

// countCreatedRows makes the Activity list count the row widgets it creates from now
// on; the returned function reads the count. It wraps the list's own CreateItem, so
// the rows are the real ones. Call it on the UI goroutine (the test's).
func countCreatedRows(u *UI) func() int {
	n := 0
	create := u.activity.list.CreateItem
	u.activity.list.CreateItem = func() fyne.CanvasObject {
		n++
		return create()
	}
	return func() int { return n }
}

// fillActivity publishes n trusted verdicts for site0.example … site<n-1>.example, one
// millisecond apart (the last is the newest), and waits until the list shows them.
func fillActivity(tb testing.TB, u *UI, n int) {
	tb.Helper()
	now := time.Now()
	for i := range n {
		ev := disagreement(fmt.Sprintf("site%d.example", i), now.Add(time.Duration(i)*time.Millisecond))
		ev.Kind, ev.Verdict.Outcome = verifier.EventVerified, verifier.OutcomeTrusted
		u.Publish(ev)
	}
	waitIdle(tb, u)
	if len(u.activity.shown) != n {
		tb.Fatalf("rows = %d, want %d", len(u.activity.shown), n)
	}
}

// renderedRows returns the sites shown by the Activity rows in the rendered tree (the
// bold label of each row).
func renderedRows(u *UI) []string {
	var sites []string
	walk(u.activity.list, func(o fyne.CanvasObject) bool {
		if l, ok := o.(*widget.Label); ok && l.TextStyle.Bold {
			sites = append(sites, l.Text)
		}
		return false
	})
	return sites
}

// memFigures are the process's memory figures, in MB, after a forced collection.
type memFigures struct {
	rss  float64 // resident set (VmRSS); -1 where /proc is missing
	heap float64 // Go heap in use
}

// measureMemory collects garbage, returns freed memory to the OS (so that the
// resident set reflects what is live), then reads the Go heap and VmRSS.
func measureMemory() memFigures {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memFigures{rss: vmRSS(), heap: float64(ms.HeapInuse) / (1 << 20)}
}

// vmRSS returns this process's resident set size in MB from /proc/self/status, or -1
// where there is no /proc (not Linux).
func vmRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := bytes.Fields(s.Bytes())
		if len(f) == 3 && string(f[0]) == "VmRSS:" && string(f[2]) == "kB" {
			kb, err := strconv.ParseFloat(string(f[1]), 64)
			if err != nil {
				return -1
			}
			return kb / 1024
		}
	}
	return -1
}

// TestActivityListIsVirtualised fills the Activity list with 10,000 verdicts and
// checks that it creates and renders row widgets only for what fits in the window,
// also after scrolling to the middle and to the end: the list's cost does not grow
// with the number of verdicts.
func TestActivityListIsVirtualised(t *testing.T) {
	u, _ := newTestUI(t, newStoreBackend(t))
	created := countCreatedRows(u)
	fillActivity(t, u, activityRows)

	// The window is 800 px tall and a row about 40 px: a few dozen rows at most. 200
	// leaves room for a pool that the collector emptied; 10,000 would mean no pooling.
	const most = 200
	check := func(where, want string) {
		t.Helper()
		rows := renderedRows(u)
		if len(rows) == 0 || len(rows) > most {
			t.Fatalf("%s: %d rows rendered for %d verdicts, want 1..%d", where, len(rows), activityRows, most)
		}
		if c := created(); c == 0 || c > most {
			t.Fatalf("%s: %d row widgets created for %d verdicts, want 1..%d", where, c, activityRows, most)
		}
		if !slices.Contains(rows, want) {
			t.Fatalf("%s: rows %q do not show %s", where, rows, want)
		}
	}
	check("top", fmt.Sprintf("site%d.example:443", activityRows-1)) // newest first
	u.activity.list.ScrollTo(activityRows / 2)
	check("middle", fmt.Sprintf("site%d.example:443", activityRows/2-1))
	u.activity.list.ScrollToBottom()
	check("bottom", "site0.example:443")
	t.Logf("%d row widgets created, %d rendered, for %d verdicts", created(), len(renderedRows(u)), activityRows)
}
