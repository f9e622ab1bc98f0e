package localproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// greeter is a loopback TCP server that writes who it is to every connection.
func greeter(t *testing.T, who string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // ends when the listener is closed at cleanup
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, who+"\n")
			c.Close()
		}
	}()
	return ln
}

// TestLocalhostNameIsNeverResolved: the verifier exempts "localhost" names by the name
// alone, so the proxy tunnels them unchecked. It must then reach this machine, not
// whatever a resolver says: without myhostname or systemd-resolved, Go's resolver sends
// "dev.localhost" to DNS, where an attacker on the network answers.
func TestLocalhostNameIsNeverResolved(t *testing.T) {
	ctx := context.Background()
	st, err := settings.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("settings.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := verifier.New(ctx, verifier.Config{Store: st, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatalf("verifier.New: %v", err)
	}
	t.Cleanup(func() { v.Close() })

	local := greeter(t, "local service")
	attacker := greeter(t, "attacker")
	_, port, _ := net.SplitHostPort(local.Addr().String())
	// A resolver that a spoofed DNS answer misleads: every name leads to the attacker.
	// A fake because a real resolver cannot be made to lie on loopback; the attacker's
	// server is real.
	spoofed := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); ip == nil {
			addr = attacker.Addr().String()
		} else if !ip.IsLoopback() {
			return nil, errors.New("test dialer: loopback only")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	r := startProxy(t, func(c *Config) {
		c.Exempter = v
		c.DialContext = spoofed
	})
	for _, name := range []string{"dev.localhost", "localhost", "Dev.LocalHost", "localhost.", "Dev.LocalHost."} {
		target := net.JoinHostPort(name, port)
		if !v.Exempt(verifier.Target{Host: name, Port: 443}) {
			t.Fatalf("the verifier does not exempt %q; this test needs it to", name)
		}
		if got := greetingThroughTunnel(t, r.addr, target); got != "local service" {
			t.Errorf("CONNECT %s reached %q, want the local service", target, got)
		}
	}
}

// greetingThroughTunnel opens a CONNECT tunnel to target and returns the first line the
// far end writes.
func greetingThroughTunnel(t *testing.T, proxyAddr, target string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "HTTP " + resp.Status
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read through tunnel to %s: %v", target, err)
	}
	return strings.TrimSpace(line)
}

// TestTrailingDotIsTheSameName: "good.test." is the name good.test: a CONNECT to it is
// checked under the dotless name (one verdict key, one pin and cache entry for both
// spellings), and its leaf serves both.
func TestTrailingDotIsTheSameName(t *testing.T) {
	s := newSite(t, false)
	var got verdicts
	r := startProxy(t, func(c *Config) { c.OnVerdict = got.add; noPool(c) }) // a verdict per connection
	for _, host := range []string{"good.test.", "Good.Test", "good.test"} {
		resp, body := get(t, r.client(false), "https://"+host+":"+s.port()+"/")
		if resp.StatusCode != 200 || !strings.Contains(body, "hello from site") {
			t.Errorf("GET https://%s: %d %q", host, resp.StatusCode, body)
		}
	}
	for _, vd := range got.waitFor(t, verifier.SourceNotaries, 3) {
		if vd.Target.Host != "good.test" {
			t.Errorf("verdict for %q; want every spelling judged as good.test", vd.Target.Host)
		}
	}
	if n := r.ca.leaves.mints.Load(); n != 1 {
		t.Errorf("minted %d leaves for three spellings of one name; want 1", n)
	}
}
