package loadrig

import (
	"sync"
	"sync/atomic"
)

// Run makes n calls of do from conc goroutines at once and returns the first error and
// the peak number of calls in flight.
func Run(n, conc int, do func() error) (peak int64, err error) {
	var next, inflight, top atomic.Int64
	var mu sync.Mutex // protects err
	var wg sync.WaitGroup
	for range min(n, conc) {
		wg.Go(func() { // ends when n requests have been taken
			for next.Add(1) <= int64(n) {
				cur := inflight.Add(1)
				for {
					p := top.Load()
					if cur <= p || top.CompareAndSwap(p, cur) {
						break
					}
				}
				e := do()
				inflight.Add(-1)
				if e != nil {
					mu.Lock()
					if err == nil {
						err = e
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return top.Load(), err
}
