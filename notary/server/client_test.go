package server

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// The rate limit keys on the client a trusted proxy names in X-Forwarded-For; from a
// peer that is not a trusted proxy the header is ignored, so a client cannot escape its
// limit by writing one; and what a client writes left of the proxy's entry is ignored.
func TestTrustedProxyRateLimit(t *testing.T) {
	// Each question is refused by policy (loopback, not allowed) without a probe: 403
	// when the limit lets it through, 429 when not. One query per client.
	ask := func(e *env, xff string) int {
		h := http.Header{}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		code, _, _ := e.doHeader(http.MethodGet, protocol.V1Path("127.0.0.1", 443), h, "")
		return code
	}
	t.Run("untrusted peer", func(t *testing.T) {
		e := newEnv(t, envOpts{rate: 0.001, burst: 1, trustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
		if code := ask(e, "203.0.113.1"); code != http.StatusForbidden {
			t.Fatalf("first: %d", code)
		}
		// The spoof: a new address in the header each time. Still the same client.
		if code := ask(e, "203.0.113.2"); code != http.StatusTooManyRequests {
			t.Fatalf("spoofed X-Forwarded-For from an untrusted peer: %d, want 429", code)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEnv(t, envOpts{rate: 0.001, burst: 1, trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
		for _, c := range []struct {
			xff  string
			want int
		}{
			{"203.0.113.1", http.StatusForbidden},
			{"203.0.113.1", http.StatusTooManyRequests},
			{"203.0.113.2", http.StatusForbidden}, // another client behind the same proxy
			// The client wrote a fresh address; the proxy appended the real one.
			{"198.51.100.9, 203.0.113.1", http.StatusTooManyRequests},
			{"2001:db8::1", http.StatusForbidden},
			{"2001:db8::2", http.StatusTooManyRequests}, // same /64
			// No header: the proxy itself is the client.
			{"", http.StatusForbidden},
			{"", http.StatusTooManyRequests},
			// Garbage where the proxy's entry should be: keyed on the proxy, limited.
			{"not-an-address", http.StatusTooManyRequests},
		} {
			if code := ask(e, c.xff); code != c.want {
				t.Errorf("X-Forwarded-For %q: %d, want %d", c.xff, code, c.want)
			}
		}
	})
}

// A trusted proxy's connections carry many clients: they are outside the per-client
// share (counted against the total only); anyone else's beyond the share are refused.
func TestTrustedProxyOutsideConnShare(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	admitted := func(exempt func(netip.Addr) bool) int {
		lim := newConnLimiter(ln, 16, 2, time.Second, slog.New(slog.DiscardHandler))
		lim.exempt = exempt
		n := 0
		for range 5 {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			if lim.admit(sc) != nil {
				n++
			}
		}
		return n
	}
	if n := admitted(nil); n != 2 {
		t.Errorf("an ordinary client got %d of 5 connections admitted, want its share of 2", n)
	}
	proxy := netip.MustParsePrefix("127.0.0.1/32")
	if n := admitted(func(a netip.Addr) bool { return proxy.Contains(a) }); n != 5 {
		t.Errorf("a trusted proxy got %d of 5 connections admitted, want all", n)
	}
}
