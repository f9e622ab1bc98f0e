package localproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestProxyHostileInput sends malformed and oversized input and checks that each bad
// connection is answered or closed while a well-behaved client is still served.
func TestProxyHostileInput(t *testing.T) {
	r := startProxy(t, func(c *Config) { c.Limits.MaxHeaderBytes = 4 << 10 })

	// A client that connects and never sends anything must not block others.
	idle, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	status := func(raw string) int {
		t.Helper()
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0 // closed without an answer
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("CONNECT no-port-here HTTP/1.1\r\nHost: x\r\n\r\n"); got != http.StatusBadRequest {
		t.Errorf("CONNECT without port: %d, want 400", got)
	}
	if got := status("CONNECT a.test:99999 HTTP/1.1\r\nHost: x\r\n\r\n"); got != http.StatusBadRequest {
		t.Errorf("CONNECT with bad port: %d, want 400", got)
	}
	big := "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX-Big: " + strings.Repeat("a", 16<<10) + "\r\n\r\n"
	if got := status(big); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: %d, want 431", got)
	}
	if got := status("\x16\x03\x01garbage that is not HTTP\r\n\r\n"); got != http.StatusBadRequest {
		t.Errorf("garbage request line: %d, want 400", got)
	}

	// A CONNECT followed by a broken ClientHello: the tunnel is closed, nothing else.
	c := connect(t, r.addr, "good.test:443")
	fmt.Fprint(c, "\x16\x03\x01\x00\x05hello")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil && strings.Contains(err.Error(), "timeout") {
		t.Errorf("broken ClientHello: connection left open: %v", err)
	}
	c.Close()

	// The proxy still serves a normal client while the idle one waits.
	resp, pac := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+r.addr+"/proxy.pac")
	if resp.StatusCode != 200 || !strings.Contains(pac, "FindProxyForURL") {
		t.Errorf("normal request after hostile ones: %d", resp.StatusCode)
	}
	if r.checker.callCount() != 0 {
		t.Errorf("hostile input reached the Checker")
	}
}
