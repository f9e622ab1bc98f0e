package core

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// TestCleartextTunnelsReachTheHistory: the proxy's verdicts on tunnels that are not
// TLS become events: the listeners get them and the history keeps them, so they show
// in Activity even after a restart. A real proxy on a loopback listener refuses a
// cleartext stream; an allowed one is published as the proxy reports it (on loopback
// every destination is exempt, tunnelled before any cleartext question; localproxy's
// tests open allowed tunnels).
func TestCleartextTunnelsReachTheHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	events := make(chan verifier.Event, 8)
	c.Subscribe(func(ev verifier.Event) { events <- ev })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Proxy.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()

	// Refused before any dial: the name needs no resolver.
	const refused = "chat.invalid:5222"
	if got := throughTunnel(t, ln.Addr().String(), refused); got != "" {
		t.Errorf("cleartext to a destination not allowed: %q, want it refused", got)
	}
	select {
	case ev := <-events:
		if ev.Kind != verifier.EventRejected || ev.Verdict.Source != verifier.SourceCleartext || ev.Verdict.Target.String() != refused {
			t.Errorf("event %+v, want %s rejected from cleartext", ev, refused)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s of a refused cleartext stream")
	}
	allowed := verifier.Verdict{Target: verifier.Target{Host: "db.example", Port: 5432}, Outcome: verifier.OutcomeTrusted,
		Source: verifier.SourceCleartext, Reason: "not TLS, let through unchecked", Time: time.Now()}
	c.publish(verifier.Event{Kind: verifier.EventVerified, Verdict: allowed, Time: allowed.Time})

	h, err := c.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Verdict.Target.String() != refused || h[0].Verdict.Allowed() || !strings.Contains(h[0].Verdict.Reason, "not TLS") ||
		h[1].Verdict.Source != verifier.SourceCleartext || !h[1].Verdict.Allowed() {
		t.Errorf("history: %+v; want the refused stream, then the allowed tunnel", h)
	}
}

// throughTunnel CONNECTs to target through the proxy, sends "hello" and returns the
// answer ("" when the tunnel was closed without one).
func throughTunnel(t *testing.T, proxy, target string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxy, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nhello\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", target, err, resp)
	}
	b, _ := io.ReadAll(br)
	return strings.TrimSpace(string(b))
}
