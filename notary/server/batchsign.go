package server

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// maxBatch bounds the answers signed under one Merkle root: the path grows by one hash
// per doubling, and a batch this size already makes the signature's cost per answer
// small beside the handshake and the HTTP work.
const maxBatch = 64

// batchSigner signs v2 answers in batches (protocol.SignV2Batch): the requests waiting
// at one time share one signature over their Merkle root. It never waits to fill a
// batch: a request that finds the signer idle starts it, and is signed alone (a batch
// of one) unless others reached the queue by then; requests that arrive while a batch
// is signed wait for the next, which takes everything waiting, up to maxBatch.
//
// The signer goroutine lives only while work waits: it is started by the request that
// finds none running, and it ends when it finds the queue empty after a batch, so no
// Close is needed and nothing outlives the requests. Safe for concurrent use.
type batchSigner struct {
	mu      sync.Mutex // protects queue and running
	queue   []*signJob
	running bool
	signed  func(batch int, took time.Duration) // a batch was signed (metrics); may be nil
}

// signJob is one answer waiting to be signed; done receives its body (buffered: the
// signer never blocks on a requester that gave up).
type signJob struct {
	id    *keys.Identity
	alg   string
	canon []byte
	done  chan signResult
}

type signResult struct {
	body []byte
	err  error
}

// sign returns the body of canon (the canonical answer for alg) signed with id's v2
// key in whatever batch it joins, or ctx's error if the request ends first.
func (s *batchSigner) sign(ctx context.Context, id *keys.Identity, alg string, canon []byte) ([]byte, error) {
	j := &signJob{id: id, alg: alg, canon: canon, done: make(chan signResult, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, j)
	if !s.running {
		s.running = true
		go s.run()
	}
	s.mu.Unlock()
	select {
	case r := <-j.done:
		return r.body, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run signs batches until the queue is empty, then ends.
func (s *batchSigner) run() {
	var batch []*signJob
	for {
		// Let the requests already running reach the queue first: a yield, not a wait
		// (it returns at once when nothing else is runnable, so a lone request is
		// signed at once), and it is what makes batches of more than one or two on a
		// machine with few cores, where the handlers and the signer take turns.
		runtime.Gosched()
		s.mu.Lock()
		n := min(len(s.queue), maxBatch)
		if n == 0 {
			s.running = false
			s.queue = nil // drop the array: a burst's backlog is not kept
			s.mu.Unlock()
			return
		}
		batch = append(batch[:0], s.queue[:n]...)
		clear(s.queue[:n])
		s.queue = s.queue[n:]
		s.mu.Unlock()
		s.signBatch(batch)
	}
}

// signBatch signs one batch, one root per identity and algorithm in it (a reload
// between two requests can put two in one batch).
func (s *batchSigner) signBatch(batch []*signJob) {
	for len(batch) > 0 {
		id, alg := batch[0].id, batch[0].alg
		var same, rest []*signJob
		for _, j := range batch {
			if j.id == id && j.alg == alg {
				same = append(same, j)
			} else {
				rest = append(rest, j)
			}
		}
		canons := make([][]byte, len(same))
		for i, j := range same {
			canons[i] = j.canon
		}
		start := time.Now()
		bodies, err := protocol.SignV2Batch(canons, alg, id.V2Signer)
		if s.signed != nil && err == nil {
			s.signed(len(same), time.Since(start))
		}
		for i, j := range same {
			if err != nil {
				j.done <- signResult{err: err}
			} else {
				j.done <- signResult{body: bodies[i]}
			}
		}
		batch = rest
	}
}
