package loadrig

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Usage is what a load run must give back: goroutines, open file descriptors and
// live heap.
type Usage struct {
	goroutines int
	fds        int
	heap       uint64 // bytes in use after a GC
}

// String is the usage in words, for a test's log.
func (u Usage) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, %.1f MiB heap", u.goroutines, u.fds, float64(u.heap)/(1<<20))
}

// Measure takes the process's usage now, after two garbage collections.
func Measure(tb testing.TB) Usage {
	tb.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatalf("count open files: %v", err)
	}
	return Usage{goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapAlloc}
}

// Slack allowed over the baseline: the runtime and net/http keep a few goroutines and
// descriptors of their own after first use (the netpoller's eventfd and epoll fd, a
// timer goroutine), and the heap keeps caches (TLS session tickets' keys, the x509
// roots' lazy state, sync.Pools until two GCs pass).
const (
	slackGoroutines = 4
	slackFDs        = 4
	slackHeap       = 16 << 20
)

// WaitBaseline polls until usage is back within the slack of base, for at most
// limit (a guard against waiting forever, not a speed assertion), and returns the
// last measure and whether it got back.
func WaitBaseline(tb testing.TB, base Usage, limit time.Duration) (Usage, bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		now := Measure(tb)
		back := now.goroutines <= base.goroutines+slackGoroutines && now.fds <= base.fds+slackFDs &&
			now.heap <= base.heap+slackHeap
		if back || time.Now().After(deadline) {
			return now, back
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DumpGoroutines logs every goroutine's stack, to find what leaked.
func DumpGoroutines(tb testing.TB) {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	tb.Logf("goroutines:\n%s", buf[:n])
}

// RaiseFileLimit lifts the soft RLIMIT_NOFILE to want (or the hard limit): 1,000
// proxied connections hold about 3,000 descriptors in this one process (client end,
// proxy's two ends, and the site's). It skips the test when the hard limit is lower.
func RaiseFileLimit(tb testing.TB, want uint64) {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur >= want {
		return
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatalf("setrlimit: %v", err)
	}
	if lim.Cur < want {
		tb.Skipf("open file limit is %d (hard), need %d", lim.Cur, want)
	}
}

// awaitServe waits for a server's Serve, whose context was just cancelled, to return,
// and reports its error or that it did not return within 30 s.
func awaitServe(tb testing.TB, done <-chan error, what string) {
	tb.Helper()
	select {
	case err := <-done:
		if err != nil {
			tb.Errorf("%s Serve: %v", what, err)
		}
	case <-time.After(30 * time.Second):
		tb.Errorf("%s Serve did not return 30 s after cancel", what)
	}
}
