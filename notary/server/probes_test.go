package server

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/probe"
)

// At most MaxProbes probes run at once. The network probe is replaced here by a function
// that holds each probe open until the test releases it: the only way to observe the
// bound without timing (the real prober is exercised by every other test).
func TestMaxProbes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := openSQLite(t)
	const limit, targets = 2, 6
	n := New(Config{Store: st, Prober: probe.New(probe.Config{}), MaxProbes: limit})
	var inflight, peak atomic.Int64
	entered := make(chan struct{}, targets)
	release := make(chan struct{})
	n.probe = func(pctx context.Context, host string, port int, want string) (probe.Result, error) {
		cur := inflight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		entered <- struct{}{}
		select {
		case <-release:
		case <-pctx.Done():
		}
		inflight.Add(-1)
		return probe.Result{}, errors.New("held probe " + host + ":" + strconv.Itoa(port))
	}
	var wg sync.WaitGroup
	for i := range targets {
		// Names only: the held probe never resolves or dials them.
		wg.Go(func() { _, _ = n.Query(ctx, Question{Host: "site" + strconv.Itoa(i) + ".example", Port: 443}) })
	}
	for range targets {
		select {
		case <-entered:
			release <- struct{}{}
		case <-ctx.Done():
			t.Fatal("probes did not all run")
		}
	}
	wg.Wait()
	if p := peak.Load(); p < 1 || p > limit {
		t.Fatalf("peak concurrent probes %d, limit %d", p, limit)
	}
}
