package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// hoard is one client holding silent TCP connections to a server: each of its
// goroutines dials from src, sends nothing and waits until the server closes the
// connection, then (if reopen) dials again, as the hoarder of issue 20 did.
type hoard struct {
	dialled atomic.Int64 // connections opened
	closed  atomic.Int64 // connections the server closed
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startHoard opens n silent connections from src to addr, each dialled before it
// returns; Stop (or the test's end) closes them all.
func startHoard(t testing.TB, addr, src string, n int, reopen bool) *hoard {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &hoard{cancel: cancel}
	t.Cleanup(h.Stop)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	first := make([]net.Conn, n)
	for i := range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("hoarder %s: connection %d: %v", src, i, err)
		}
		h.dialled.Add(1)
		first[i] = c
	}
	for _, c := range first {
		h.wg.Go(func() { // ends when ctx ends, or after the server closes c when !reopen
			for range 10000 { // bounds the reopening
				stop := context.AfterFunc(ctx, func() { c.Close() })
				_, err := c.Read(make([]byte, 1)) // a refused or timed-out connection reads EOF or a reset
				stop()
				c.Close()
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					h.closed.Add(1)
				}
				if !reopen {
					return
				}
				if c, err = d.DialContext(ctx, "tcp", addr); err != nil {
					return
				}
				h.dialled.Add(1)
			}
		})
	}
	return h
}

// Stop closes the hoard's connections and waits for its goroutines.
func (h *hoard) Stop() {
	h.cancel()
	h.wg.Wait()
}

// askV2 asks the notary once in v2 on a new connection; ctx only guards against a hang.
func askV2(ctx context.Context, c *http.Client, base string, port int, sha256 string) (int, error) {
	req, err := protocol.NewV2Request("127.0.0.1", port, sha256)
	if err != nil {
		return 0, err
	}
	raw, _ := req.Marshal()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+protocol.V2Path, strings.NewReader(string(raw)))
	if err != nil {
		return 0, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(hr)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// otherClient is a client from src that opens a new connection per question.
func otherClient(e *env, src string) *http.Client {
	c := clientFrom(e, src)
	c.Transport.(*http.Transport).DisableKeepAlives = true
	return c
}

// askWhileHoarding asks n questions from c, each on a new connection; the 10 s guard is
// far below the hoarded connections' 30 s handshake timeout, so an answer cannot come
// from a slot that timed out.
func askWhileHoarding(t *testing.T, c *http.Client, base string, port int, sha256 string, n int) {
	t.Helper()
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code, err := askV2(ctx, c, base, port, sha256)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("question %d of another client while one hoards: no answer before the hoarded connections time out (%v)", i+1, err)
		}
		if err != nil || code != http.StatusOK {
			t.Fatalf("question %d of another client while one hoards: %d %v, want 200", i+1, code, err)
		}
	}
}

// hoardConfig is the listener of the hoarding tests: 128 connections, 32 per client, and
// handshake and read timeouts (30 s) long enough that no hoarded slot frees itself
// during a test; under pressure (96 open) a silent connection goes after 1 s.
func hoardConfig() ServeConfig {
	return ServeConfig{MaxConns: 128, MaxConnsPerClient: 32, PressureTimeout: time.Second,
		ReadHeaderTimeout: 30 * time.Second, ReadTimeout: 30 * time.Second}
}

// TestNotaryHoarderOthersServed: one client (127.0.0.1) opens 200 silent connections,
// more than the notary's 128; another (127.0.0.2) is still answered, on new
// connections, while the hoarder holds its share (32) and the rest were refused.
func TestNotaryHoarderOthersServed(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	base := serveReal(t, e, hoardConfig())
	h := startHoard(t, strings.TrimPrefix(base, "https://"), "127.0.0.1", 200, false)
	askWhileHoarding(t, otherClient(e, "127.0.0.2"), base, site.Port(), fp256(cert), 5)
	// The refusals come at once; wait for them (a bounded poll, not a speed test).
	for i := 0; h.closed.Load() < 200-32 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("hoarder: %d connections dialled, %d refused by the notary", h.dialled.Load(), h.closed.Load())
	if got := h.closed.Load(); got != 200-32 {
		t.Errorf("the notary closed %d of the hoarder's 200 connections, want 168 (all beyond its share of 32)", got)
	}
}

// TestNotaryPressureClosesSilentConns: five clients hold 32 silent connections each and
// reopen every one the notary closes, 160 wanting its 128 slots; under that pressure the
// notary closes a connection that has sent no request within its short timeout, and a
// sixth client is answered on new connections.
func TestNotaryPressureClosesSilentConns(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	base := serveReal(t, e, hoardConfig())
	addr := strings.TrimPrefix(base, "https://")
	var hoards []*hoard
	for _, src := range []string{"127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"} {
		hoards = append(hoards, startHoard(t, addr, src, 32, true))
	}
	askWhileHoarding(t, otherClient(e, "127.0.0.2"), base, site.Port(), fp256(cert), 5)
	var dialled, closed int64
	for _, h := range hoards {
		h.Stop()
		dialled, closed = dialled+h.dialled.Load(), closed+h.closed.Load()
	}
	t.Logf("hoarders: %d connections dialled, %d closed by the notary", dialled, closed)
	if closed == 0 {
		t.Error("the notary closed none of the silent connections under pressure")
	}
}
