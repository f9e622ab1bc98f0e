package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// The history is written off the verdict's path. The verifier reports a verdict
// (publish) on the goroutine that made it, before the client's TLS handshake
// completes, and a history write with synchronous=FULL waits for a disk sync (2-3 ms,
// far more on a busy disk), so publish only queues the event; the history writer
// writes what is queued in batches, one transaction each (settings.Store.AddEvents).
const (
	// historyQueueCap bounds the events waiting to be written. When the disk stalls
	// for longer than that many events take to come, the oldest waiting event is
	// dropped: a verdict never waits for the disk. Drops are counted and logged once
	// per stall.
	historyQueueCap = 4096
	// historyBatchMax is the most events written in one transaction.
	historyBatchMax = 512
	// historyRetryMin and historyRetryMax bound the wait before a batch the store
	// refused for lack of space is tried again (doubling from one to the other). The
	// store telling that a write succeeded again (retryNow) ends the wait at once.
	historyRetryMin = 2 * time.Second
	historyRetryMax = time.Minute
)

// eventAdder is what the history writer needs of the store. A test holds its writes.
type eventAdder interface {
	AddEvents(ctx context.Context, events []settings.Event) error
}

// historyWriter queues history events and writes them on its own goroutine, which
// runs from startHistoryWriter to close. Safe for concurrent use.
type historyWriter struct {
	log  *slog.Logger
	wake chan struct{} // buffered 1: there are events to write
	// retry is buffered 1: the disk has space again, retry a refused batch now.
	retry chan struct{}
	stop  context.CancelFunc
	done  chan struct{} // closed when run returns

	mu    sync.Mutex // protects the fields below
	store eventAdder
	// The events are numbered 1, 2, ... as they are added: queue holds the last
	// len(queue) added; the batch being written holds flightN events from flightLo.
	queue    []settings.Event
	added    uint64
	flightLo uint64
	flightN  uint64
	progress chan struct{} // closed (and replaced) when events leave the queue or the flight
	dropped  int           // events dropped because the queue was full, in all
	stalled  int           // of them, dropped since the queue last emptied
	closed   bool
	// full is set while the store refuses the batches for lack of space: they wait
	// in the queue, and flush does not wait for them.
	full bool
}

// startHistoryWriter starts a writer to store. Its goroutine ends at close.
func startHistoryWriter(store eventAdder, log *slog.Logger) *historyWriter {
	ctx, stop := context.WithCancel(context.Background())
	w := &historyWriter{
		log: log, wake: make(chan struct{}, 1), retry: make(chan struct{}, 1), stop: stop, done: make(chan struct{}),
		store: store, progress: make(chan struct{}),
	}
	go w.run(ctx)
	return w
}

// add queues ev and returns at once. Once the writer is closed it writes ev itself,
// so that an event reported while the app shuts down is still kept.
func (w *historyWriter) add(ev settings.Event) {
	w.mu.Lock()
	if w.closed {
		store := w.store
		w.mu.Unlock()
		if err := store.AddEvents(context.Background(), []settings.Event{ev}); err != nil {
			w.log.Warn("failed to record event", "kind", ev.Kind, "err", err)
		}
		return
	}
	w.dropOldest(1)
	w.queue = append(w.queue, ev)
	w.added++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already woken
	}
}

// dropOldest makes room for n more events in the queue by dropping the oldest waiting.
// w.mu must be held.
func (w *historyWriter) dropOldest(n int) {
	over := len(w.queue) + n - historyQueueCap
	if over <= 0 {
		return
	}
	w.queue = w.queue[over:]
	w.dropped += over
	if w.stalled == 0 {
		w.log.Warn("the history cannot keep up with the verdicts: dropping the oldest events waiting to be written", "waiting", historyQueueCap)
	}
	w.stalled += over
	w.signal()
}

// retryNow ends the wait before a batch refused for lack of space is tried again: the
// store has written something since. It returns at once.
func (w *historyWriter) retryNow() {
	select {
	case w.retry <- struct{}{}:
	default: // already told
	}
}

// run writes what is queued until ctx is done (close cancels it; close writes what is
// left). A write in progress is not cancelled: the store's busy timeout bounds it.
// While the disk is full it does not write at each new event: it tries again after a
// wait (historyRetryMin, doubling) or as soon as retryNow says the store wrote.
func (w *historyWriter) run(ctx context.Context) {
	defer close(w.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	delay := time.Duration(0)
	for {
		wake := w.wake
		var retry <-chan time.Time
		if delay > 0 {
			wake, retry = nil, timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-retry:
		case <-w.retry:
			if delay > 0 && !timer.Stop() {
				<-timer.C
			}
		}
		full := false
		for ctx.Err() == nil {
			more, f := w.writeBatch(context.WithoutCancel(ctx), true)
			if full = f; !more || full {
				break
			}
		}
		switch {
		case !full:
			delay = 0
		case delay == 0:
			delay = historyRetryMin
		default:
			delay = min(2*delay, historyRetryMax)
		}
		if full {
			timer.Reset(delay)
		}
	}
}

// writeBatch writes up to historyBatchMax queued events in one transaction and
// reports whether there were any, and whether the store refused them for lack of
// space. Such a batch goes back to the front of the queue when keep is set, to be
// tried again once there is space (the queue's bound still drops the oldest); a
// batch that fails otherwise is logged and dropped, as a single failed write was
// before: the store refuses it whole, and retrying it would hold every later event
// behind a disk that fails.
func (w *historyWriter) writeBatch(ctx context.Context, keep bool) (more, full bool) {
	w.mu.Lock()
	n := min(len(w.queue), historyBatchMax)
	if n == 0 {
		w.mu.Unlock()
		return false, false
	}
	batch := slices.Clone(w.queue[:n])
	w.queue = w.queue[n:]
	w.flightLo, w.flightN = w.added-uint64(len(w.queue)+n)+1, uint64(n)
	store := w.store
	w.mu.Unlock()

	err := store.AddEvents(ctx, batch)
	full = errors.Is(err, settings.ErrDiskFull)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.flightN = 0
	switch {
	case err == nil:
		if w.full {
			w.log.Info("the history is written again: the disk has space")
		}
		w.full = false
	case full && keep:
		if !w.full {
			w.log.Warn("failed to record events: the disk is full; they wait in memory and are written once there is space", "events", n, "err", err)
		}
		w.full = true
		w.queue = append(batch[:len(batch):len(batch)], w.queue...)
		w.dropOldest(0)
	default:
		w.log.Warn("failed to record events", "events", n, "err", err)
	}
	if len(w.queue) == 0 {
		w.queue = nil // let the array dropping from the front left behind go
		if w.stalled > 0 {
			w.log.Warn("the history caught up; events were dropped", "dropped", w.stalled)
			w.stalled = 0
		}
	}
	w.signal()
	return true, full
}

// signal wakes the flushes waiting. w.mu must be held.
func (w *historyWriter) signal() {
	close(w.progress)
	w.progress = make(chan struct{})
}

// pending returns the number of the first event not yet written (or dropped).
// w.mu must be held.
func (w *historyWriter) pending() uint64 {
	if w.flightN > 0 {
		return w.flightLo
	}
	return w.added - uint64(len(w.queue)) + 1
}

// flush waits until every event added before it was called has been written (or
// dropped), so that a read of the history sees them, or until ctx is done. While the
// disk is full it returns at once: the events wait for space, and the read shows
// what was written.
func (w *historyWriter) flush(ctx context.Context) error {
	w.mu.Lock()
	target := w.added
	for w.pending() <= target && !w.full {
		ch := w.progress
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("failed to write the history before reading it: %w", ctx.Err())
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
	return nil
}

// close stops the writer's goroutine and writes what is still queued, so that nothing
// the listeners (the window) were shown is lost on a clean quit. Events added later
// are written as they come (add). Core.Close calls it after the verifier has stopped
// and before the store closes.
func (w *historyWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.stop()
	<-w.done
	for more, _ := w.writeBatch(context.Background(), false); more; more, _ = w.writeBatch(context.Background(), false) {
	}
}
