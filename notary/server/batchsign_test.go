package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// TestV2BatchUnderLoad runs many clients at once against a real notary server: the
// answers of clients that ask for batch signatures come in batches larger than one,
// every one verifies with the bundle's key and answers its own request; a client that
// does not ask gets an answer signed alone, as before.
func TestV2BatchUnderLoad(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, keyType: keys.KeyEd25519})
	if code, a := e.v2("127.0.0.1", site.Port(), fp256(cert)); code != http.StatusOK || a.Signature.Batch != nil {
		t.Fatalf("without the batch header: %d, batch %+v; want 200 signed alone", code, a.Signature.Batch)
	}
	pub, err := e.bundle.V2PublicKey(e.bundle.Hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	const clients, each = 32, 10
	biggest := 0
	// Rounds until a batch of more than one was seen (almost always the first), bounded.
	for round := 0; round < 20 && biggest < 2; round++ {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex // protects errs and biggest
			errs []error
		)
		for range clients {
			wg.Go(func() {
				for range each {
					size, err := askBatched(e.client, e.srv.URL, site.Port(), fp256(cert), pub)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					biggest = max(biggest, size)
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d failed answers, the first: %v", len(errs), errs[0])
		}
	}
	if biggest < 2 {
		t.Fatalf("largest batch %d under %d concurrent clients, want more than one answer per signature", biggest, clients)
	}
	var m bytes.Buffer
	e.n.Metrics().WriteTo(&m)
	if !bytes.Contains(m.Bytes(), []byte("convergence_notary_v2_batches_total ")) || bytes.Contains(m.Bytes(), []byte("convergence_notary_v2_batches_total 0\n")) {
		t.Errorf("metrics count no batch:\n%s", m.Bytes())
	}
	t.Logf("largest batch: %d", biggest)
}

// askBatched asks once with the batch header and returns the answer's batch size.
func askBatched(c *http.Client, base string, port int, fp string, pub any) (int, error) {
	req, err := protocol.NewV2Request("127.0.0.1", port, fp)
	if err != nil {
		return 0, err
	}
	raw, _ := req.Marshal()
	hr, err := http.NewRequest(http.MethodPost, base+protocol.V2Path, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(protocol.V2BatchHeader, protocol.V2BatchMerkle)
	resp, err := c.Do(hr)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d, %v: %q", resp.StatusCode, err, body)
	}
	a, err := protocol.VerifyV2(body, pub)
	if err != nil {
		return 0, fmt.Errorf("answer does not verify: %w: %s", err, body)
	}
	if err := a.Answers(req); err != nil {
		return 0, err
	}
	if a.Signature.Batch == nil {
		return 0, fmt.Errorf("asked for a batch signature, got one alone: %s", body)
	}
	return a.Signature.Batch.Size, nil
}

// TestBatchSignerIdentities: a batch that holds answers for two identities (a reload
// between two requests) signs each under its own key, and the signer ends when the
// queue is empty.
func TestBatchSignerIdentities(t *testing.T) {
	var ids [2]*keys.Identity
	for i := range ids {
		id, err := keys.LoadOrCreate(filepath.Join(t.TempDir(), "k"), keys.KeyECDSA, []string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	var batches []int
	s := &batchSigner{signed: func(n int, _ time.Duration) { batches = append(batches, n) }}
	var jobs []*signJob
	for i := range 5 {
		id := ids[i%2]
		p, err := protocol.PrepareV2(protocol.V2Answer{Target: protocol.V2Target{Host: "a.example", Port: 443}, Status: protocol.StatusInconclusive}, id.V2Signer.Public())
		if err != nil {
			t.Fatal(err)
		}
		canon, err := p.Canonical(fmt.Sprintf("%032x", i), 1764000000)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, &signJob{id: id, alg: p.Alg(), canon: canon, done: make(chan signResult, 1)})
	}
	s.queue, s.running = slices.Clone(jobs), true
	s.run() // in this goroutine: it returns once the queue is empty
	if s.running || len(s.queue) != 0 {
		t.Fatalf("signer still running %v with %d queued", s.running, len(s.queue))
	}
	if fmt.Sprint(batches) != "[3 2]" {
		t.Errorf("batches %v, want [3 2] (one root per identity)", batches)
	}
	for i, j := range jobs {
		r := <-j.done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if _, err := protocol.VerifyV2(r.body, ids[i%2].V2Signer.Public()); err != nil {
			t.Errorf("job %d: %v", i, err)
		}
		if _, err := protocol.VerifyV2(r.body, ids[(i+1)%2].V2Signer.Public()); err == nil {
			t.Errorf("job %d verifies with the other identity's key", i)
		}
	}
	// A request whose context ends before its batch is signed gets the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.running = true // hold the signer off: the job waits in the queue
	if _, err := s.sign(ctx, ids[0], jobs[0].alg, jobs[0].canon); err != context.Canceled {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}
}
