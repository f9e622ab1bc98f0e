package localproxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPoolKeepsWhatConcurrencyNeeded: a pool keeps the connections that many client
// connections needed at once (up to poolIdlePerSite), so that the next burst of as many
// new client connections rides them instead of paying a handshake with the site and a
// verdict for each (with 8 kept, 64 clients at once made a site connection for 57% of
// new client connections). Each burst holds its requests at the site until all have
// arrived, so it needs that many site connections at once; the waits are bounded polls.
func TestPoolKeepsWhatConcurrencyNeeded(t *testing.T) {
	const burst = 16
	var opened, arrived atomic.Int64
	var mu sync.Mutex           // protects gate
	gate := make(chan struct{}) // open (closed) for the first request, shut for each burst
	close(gate)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		g := gate
		mu.Unlock()
		arrived.Add(1)
		select {
		case <-g:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "hello from site")
	}))
	s.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			opened.Add(1)
		}
	}
	s.StartTLS()
	defer s.Close()
	r := startProxy(t, func(c *Config) { c.Checker = &withdrawable{} })
	u := "https://good.test:" + portOf(s) + "/"
	get(t, clientFor(r, false, true), u) // makes the pool
	for round := range 2 {
		mu.Lock()
		gate = make(chan struct{})
		g := gate
		mu.Unlock()
		arrived.Store(0)
		var wg sync.WaitGroup
		errs := make(chan error, burst)
		for range burst {
			wg.Go(func() { // ends when its request is answered or fails
				resp, err := clientFor(r, false, true).Get(u)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				errs <- err
			})
		}
		if !waitFor(func() bool { return arrived.Load() == burst }) {
			t.Fatalf("round %d: %d of %d requests reached the site within 10 s", round, arrived.Load(), burst)
		}
		close(g)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	// The first burst needed burst connections at once; the second rides them. A pool
	// that kept only 8 would have dialled at least burst-8 more.
	if n := opened.Load(); n >= 2*burst-8 {
		t.Errorf("the site saw %d connections for two bursts of %d client connections; want about %d, the second burst riding the first's", n, burst, burst)
	}
}
