package localproxy

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// verdicts collects what the proxy reports through OnVerdict. Safe for concurrent use.
type verdicts struct {
	mu   sync.Mutex // protects list
	list []verifier.Verdict
}

func (v *verdicts) add(vd verifier.Verdict) { v.mu.Lock(); v.list = append(v.list, vd); v.mu.Unlock() }

// waitFor returns the verdicts with Source src once there are n of them, failing the
// test after 10 s.
func (v *verdicts) waitFor(t *testing.T, src verifier.Source, n int) []verifier.Verdict {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v.mu.Lock()
		var got []verifier.Verdict
		for _, vd := range v.list {
			if vd.Source == src {
				got = append(got, vd)
			}
		}
		v.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %q verdicts after 10 s; want %d", len(got), src, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lineServer is a real cleartext TCP service on loopback, as a STARTTLS server is
// before TLS: it reads a line and answers it. It counts the connections it accepts.
type lineServer struct {
	addr  string
	conns atomic.Int32
}

func newLineServer(t *testing.T, bannerFirst bool) *lineServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &lineServer{addr: ln.Addr().String()}
	go func() { // ends when the listener is closed at cleanup
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go func() { // ends within the connection's deadline
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if bannerFirst {
					io.WriteString(c, "220 mail.test ESMTP\r\n")
				}
				line, err := bufio.NewReader(c).ReadString('\n')
				if err == nil {
					io.WriteString(c, "got "+line)
				}
			}()
		}
	}()
	return s
}

func (s *lineServer) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// TestCleartextRefusedByDefault: a stream that is not TLS is not tunnelled; it is
// refused with a verdict whose Source is cleartext, in the protocol's words where it
// has some (HTTP, PostgreSQL), and the server is never reached.
func TestCleartextRefusedByDefault(t *testing.T) {
	srv := newLineServer(t, false)
	var got verdicts
	r := startProxy(t, func(c *Config) { c.OnVerdict = got.add })
	target := "127.0.0.1:" + strconv.Itoa(srv.port())
	for i, tc := range []struct {
		name, send string
		want       string // in the answer; "" for none
	}{
		{"XMPP", "<stream:stream to='chat.test' xmlns='jabber:client'>\n", ""},
		{"HTTP", "GET / HTTP/1.1\r\nHost: chat.test\r\n\r\n", "HTTP/1.1 403 Forbidden"},
		{"PostgreSQL SSLRequest", string(binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, 80877103)), "E"},
	} {
		c := connect(t, r.addr, target)
		io.WriteString(c, tc.send)
		answer, _ := io.ReadAll(c)
		c.Close()
		if tc.want == "" && len(answer) != 0 || !strings.HasPrefix(string(answer), tc.want) {
			t.Errorf("%s: answer %q; want it to start with %q", tc.name, answer, tc.want)
		}
		if tc.want != "" && !strings.Contains(string(answer), "convergence cleartext allow "+target) {
			t.Errorf("%s: answer %q does not name the fix", tc.name, answer)
		}
		vd := got.waitFor(t, verifier.SourceCleartext, i+1)[i]
		if vd.Outcome != verifier.OutcomeRejected || vd.Target.String() != target || !strings.Contains(vd.Reason, "not TLS") {
			t.Errorf("%s: verdict %+v; want a rejection of %s that says it is not TLS", tc.name, vd, target)
		}
	}
	if n := srv.conns.Load(); n != 0 {
		t.Errorf("the server accepted %d connections; a refused stream must reach no one", n)
	}
	if r.checker.callCount() != 0 {
		t.Error("a cleartext stream was sent to the Checker")
	}
}

// TestCleartextAllowedPerHostPort: the allow-list opens a cleartext tunnel to exactly
// the host:port it names, reported as an unchecked tunnel with the address dialled;
// a server that speaks first works too; TLS to an allowed destination is still
// intercepted and checked.
func TestCleartextAllowedPerHostPort(t *testing.T) {
	defer func(d time.Duration) { serverFirstWait = d }(serverFirstWait)
	serverFirstWait = 200 * time.Millisecond
	chat, mail, other := newLineServer(t, false), newLineServer(t, true), newLineServer(t, false)
	tlsSite := newSite(t, false)
	var got verdicts
	allowed := map[string]bool{}
	for _, p := range []string{strconv.Itoa(chat.port()), strconv.Itoa(mail.port()), tlsSite.port()} {
		allowed["chat.test:"+p] = true
	}
	var asked []string
	var mu sync.Mutex
	r := startProxy(t, func(c *Config) {
		c.OnVerdict = got.add
		c.CleartextAllowed = func(host string, port int) bool {
			mu.Lock()
			defer mu.Unlock()
			hp := net.JoinHostPort(host, strconv.Itoa(port))
			asked = append(asked, hp)
			return allowed[hp]
		}
	})

	// The CONNECT host is asked about as the proxy normalises it: "Chat.Test." is chat.test.
	c := connect(t, r.addr, "Chat.Test.:"+strconv.Itoa(chat.port()))
	io.WriteString(c, "STARTTLS\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if line != "got STARTTLS\n" {
		t.Errorf("allowed cleartext tunnel: answer %q, want the server's", line)
	}
	vd := got.waitFor(t, verifier.SourceCleartext, 1)[0]
	if vd.Outcome != verifier.OutcomeTrusted || vd.Target.Host != "chat.test" || vd.Target.Addr.String() != "127.0.0.1" {
		t.Errorf("allowed tunnel verdict %+v; want trusted, for chat.test, at the address dialled", vd)
	}

	// The server speaks first; the client waits for it.
	c = connect(t, r.addr, "chat.test:"+strconv.Itoa(mail.port()))
	banner, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if banner != "220 mail.test ESMTP\r\n" {
		t.Errorf("allowed tunnel to a server that speaks first: got %q, want its banner", banner)
	}
	got.waitFor(t, verifier.SourceCleartext, 2)

	// Another port of the same host is not allowed.
	c = connect(t, r.addr, "chat.test:"+strconv.Itoa(other.port()))
	io.WriteString(c, "STARTTLS\n")
	if b, _ := io.ReadAll(c); len(b) != 0 || other.conns.Load() != 0 {
		t.Errorf("a port not allowed: answer %q, server connections %d; want it refused", b, other.conns.Load())
	}
	c.Close()
	if vd := got.waitFor(t, verifier.SourceCleartext, 3)[2]; vd.Outcome != verifier.OutcomeRejected {
		t.Errorf("a port not allowed: verdict %+v, want rejected", vd)
	}

	// TLS to an allowed destination is intercepted and checked all the same.
	if st := tlsThroughTunnel(t, r.addr, "chat.test:"+tlsSite.port(), "chat.test"); st.PeerCertificates[0].Equal(tlsSite.Certificate()) {
		t.Error("TLS to a destination allowed for cleartext went through unchecked")
	}
	if r.checker.callCount() != 1 {
		t.Errorf("Checker called %d times; want once, for the TLS connection", r.checker.callCount())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, hp := range asked {
		if strings.ContainsAny(hp, "AZ") || strings.Contains(hp, ".:") {
			t.Errorf("CleartextAllowed was asked about %q; want the normalised name", hp)
		}
	}
}

// TestCleartextWhenPausedIsTunnelled: paused, the user chose to check nothing: a
// cleartext stream is tunnelled as before, and no verdict is made.
func TestCleartextWhenPausedIsTunnelled(t *testing.T) {
	srv := newLineServer(t, false)
	var got verdicts
	r := startProxy(t, func(c *Config) { c.OnVerdict = got.add; c.Paused = func() bool { return true } })
	c := connect(t, r.addr, srv.addr)
	io.WriteString(c, "hello\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if line != "got hello\n" {
		t.Errorf("paused: answer %q, want the server's", line)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.list) != 0 {
		t.Errorf("paused: verdicts %+v; want none", got.list)
	}
}

// TestCleartextRefusalAnswersHTTPInFull: an HTTP client gets a complete 403 it can
// parse, with the verdict header, even though it sent a whole request.
func TestCleartextRefusalAnswersHTTPInFull(t *testing.T) {
	r := startProxy(t, nil)
	c := connect(t, r.addr, "plain.test:80")
	defer c.Close()
	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: plain.test\r\nContent-Length: 5\r\n\r\nhello")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the refusal: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get(HeaderVerdict) != "rejected" || !strings.Contains(string(body), "not TLS") {
		t.Errorf("refusal: %d %v %q", resp.StatusCode, resp.Header, body)
	}
}

// TestTunnelPassesTheSitesEndOfStream: when the site closes its end first, the client
// sees the end of stream at once (a half-close), while its own direction stays open,
// not after the idle timeout: a client that reads until the server closes must not
// wait 2 minutes.
func TestTunnelPassesTheSitesEndOfStream(t *testing.T) {
	defer func(d time.Duration) { serverFirstWait = d }(serverFirstWait)
	serverFirstWait = 100 * time.Millisecond
	srv := greeter(t, "bye")
	r := startProxy(t, allowAllCleartext)
	c := connect(t, r.addr, srv.Addr().String())
	defer c.Close()
	start := time.Now()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "bye\n" || time.Since(start) > 5*time.Second {
		t.Errorf("read until the site closed: %q, %v after %s; want its line and the end of stream at once", b, err, time.Since(start))
	}
}
