package core

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// heldStore holds every history write until the test releases it: the seam that shows
// what waits for the disk and what does not.
type heldStore struct {
	inner   eventAdder
	entered chan []settings.Event // each batch, as its write begins
	release chan struct{}         // closed to let the writes through
}

func (h *heldStore) AddEvents(ctx context.Context, events []settings.Event) error {
	h.entered <- events
	<-h.release
	return h.inner.AddEvents(ctx, events)
}

// holdHistory makes w's writes to inner wait for the returned store's release.
func holdHistory(w *historyWriter, inner eventAdder) *heldStore {
	h := &heldStore{inner: inner, entered: make(chan []settings.Event, 64), release: make(chan struct{})}
	w.mu.Lock()
	w.store = h
	w.mu.Unlock()
	return h
}

// testHistoryCtx bounds a test's waits, so a writer that never writes fails it.
func testHistoryCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openWriterStore opens a real store in a temp dir with a history writer on it; the
// writer is closed, then the store, at the test's end.
func openWriterStore(t *testing.T, log *slog.Logger) (*settings.Store, *historyWriter) {
	t.Helper()
	s, err := settings.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := startHistoryWriter(s, log)
	t.Cleanup(func() {
		w.close()
		s.Close()
	})
	return s, w
}

func waitBatch(t *testing.T, ctx context.Context, h *heldStore) []settings.Event {
	t.Helper()
	select {
	case b := <-h.entered:
		return b
	case <-ctx.Done():
		t.Fatal("the history writer did not write")
		return nil
	}
}

// wantPorts checks the history holds events with these ports, oldest first.
func wantPorts(t *testing.T, ctx context.Context, s *settings.Store, ports []int) {
	t.Helper()
	ev, err := s.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != len(ports) {
		t.Fatalf("history holds %d events; want %d", len(ev), len(ports))
	}
	for i, p := range ports {
		if got := ev[len(ev)-1-i].Port; got != p {
			t.Fatalf("history event %d has port %d; want %d", i, got, p)
		}
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestHistoryWriterBatches: events queued while a write is held are written together
// in the next transaction, in the order they came; flush waits for them.
func TestHistoryWriterBatches(t *testing.T) {
	ctx := testHistoryCtx(t)
	s, w := openWriterStore(t, nil)
	h := holdHistory(w, s)
	w.add(settings.Event{Kind: "verified", Port: 0})
	if b := waitBatch(t, ctx, h); len(b) != 1 {
		t.Fatalf("first batch %d events; want 1", len(b))
	}
	for i := 1; i < 10; i++ {
		w.add(settings.Event{Kind: "verified", Port: i}) // returns while the write is held
	}
	close(h.release)
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	wantPorts(t, ctx, s, seq(0, 9))
	if b := waitBatch(t, ctx, h); len(b) != 9 {
		t.Errorf("second batch %d events; want the 9 queued behind the first", len(b))
	}
	if n := len(h.entered); n != 0 {
		t.Errorf("%d more writes; want 2 in all", n)
	}
}

// TestHistoryWriterDropsOldestWhenFull: with the disk held, the queue keeps the newest
// historyQueueCap events and drops the oldest, counts them and warns once; the history
// gets the rest when the disk comes back.
func TestHistoryWriterDropsOldestWhenFull(t *testing.T) {
	ctx := testHistoryCtx(t)
	logs := &lockedBuffer{}
	s, w := openWriterStore(t, slog.New(slog.NewTextHandler(logs, nil)))
	h := holdHistory(w, s)
	w.add(settings.Event{Kind: "verified", Port: 0})
	waitBatch(t, ctx, h) // event 0 is in flight: the queue is empty
	const over = 5
	for i := 1; i <= historyQueueCap+over; i++ {
		w.add(settings.Event{Kind: "verified", Port: i})
	}
	w.mu.Lock()
	dropped, queued := w.dropped, len(w.queue)
	w.mu.Unlock()
	if dropped != over || queued != historyQueueCap {
		t.Errorf("dropped %d, queued %d; want %d and %d", dropped, queued, over, historyQueueCap)
	}
	if n := strings.Count(logs.String(), "cannot keep up"); n != 1 {
		t.Errorf("warned %d times of the full queue; want once:\n%s", n, logs)
	}
	close(h.release)
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	wantPorts(t, ctx, s, append([]int{0}, seq(1+over, historyQueueCap+over)...))
	if !strings.Contains(logs.String(), "caught up") || !strings.Contains(logs.String(), "dropped=5") {
		t.Errorf("the end of the stall is not logged with the count:\n%s", logs)
	}
}

// TestHistoryWriterCloseWrites: close writes what is still queued, and an event added
// after close is written before add returns.
func TestHistoryWriterCloseWrites(t *testing.T) {
	ctx := testHistoryCtx(t)
	s, w := openWriterStore(t, nil)
	h := holdHistory(w, s)
	w.add(settings.Event{Kind: "verified", Port: 0})
	waitBatch(t, ctx, h)
	w.add(settings.Event{Kind: "verified", Port: 1})
	w.add(settings.Event{Kind: "verified", Port: 2})
	closed := make(chan struct{})
	go func() { // ends when close has written the queue
		defer close(closed)
		w.close()
	}()
	close(h.release)
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("close did not return")
	}
	wantPorts(t, ctx, s, seq(0, 2))
	w.add(settings.Event{Kind: "verified", Port: 3})
	wantPorts(t, ctx, s, seq(0, 3))
	if err := w.flush(ctx); err != nil {
		t.Errorf("flush after close: %v", err)
	}
}

// TestHistoryFlushEndsWithItsContext: a flush waiting for a held write gives up when
// its context ends.
func TestHistoryFlushEndsWithItsContext(t *testing.T) {
	ctx := testHistoryCtx(t)
	s, w := openWriterStore(t, nil)
	h := holdHistory(w, s)
	defer close(h.release)
	w.add(settings.Event{Kind: "verified"})
	waitBatch(t, ctx, h)
	fctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.flush(fctx); !errors.Is(err, context.Canceled) {
		t.Errorf("flush with its context done: %v; want context.Canceled", err)
	}
}
