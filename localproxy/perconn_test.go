package localproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// Issue 17 item 5, less work per connection: one idle timer per tunnel (which must
// still catch a write that stalls while the other direction is busy), the site's TCP
// connection started at CONNECT, and a verdict logged once.

// TestTunnelClosesAStalledWrite: a client that sends a byte every 100 ms and never
// reads what the site streams back keeps one direction busy while the other's write
// to it stalls. The tunnel must be closed once that write has stalled for the idle
// timeout (1 s here), although bytes keep moving the other way. The 30 s of trickling
// only guard against a hang.
func TestTunnelClosesAStalledWrite(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/both", func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		go io.Copy(io.Discard, r.Body) // ends when the request does
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	s := newSiteWith(t, mux)
	r := startProxy(t, func(c *Config) { c.Limits.IdleTimeout = time.Second })
	raw := connect(t, r.addr, "good.test:"+s.port())
	raw.SetDeadline(time.Time{})
	pool := x509.NewCertPool()
	pool.AddCert(r.ca.Certificate())
	tc := tls.Client(raw, &tls.Config{ServerName: "good.test", RootCAs: pool, NextProtos: []string{"http/1.1"}})
	defer tc.Close()
	fmt.Fprintf(tc, "POST /both HTTP/1.1\r\nHost: good.test\r\nContent-Length: 100000\r\n\r\n")
	var err error
	for i := 0; i < 300 && err == nil; i++ {
		tc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err = tc.Write([]byte("y"))
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		t.Fatalf("a client that never reads kept its tunnel for 30 s of trickling; want it closed after the 1 s idle timeout of its stalled direction")
	}
}

// newSiteWith is a real HTTPS site on loopback (HTTP/1.1) serving h.
func newSiteWith(t *testing.T, h http.Handler) *site {
	s := newSite(t, false)
	s.Config.Handler = h
	return s
}

// TestSiteDialledEarly: the proxy dials the site once it knows the stream is TLS,
// before it has the whole ClientHello, and closes that connection when the client goes
// away without finishing it. Both are waited for with a bounded poll (10 s), not
// timed. (A stream that is not TLS, and not allowed, reaches no one:
// TestCleartextRefusedByDefault.)
func TestSiteDialledEarly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { // ends when the listener is closed
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	r := startProxy(t, nil)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	client := connect(t, r.addr, "early.test:"+port)
	client.Write([]byte{recordTypeHandshake, 3, 1}) // the start of a TLS record, no more
	var site net.Conn
	select {
	case site = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the site was not dialled while the client's ClientHello was still coming")
	}
	defer site.Close()
	client.Close()
	site.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := site.Read(make([]byte, 1))
	if n != 0 || err != io.EOF {
		t.Errorf("the unused early connection: read %d bytes, %v; want it closed by the proxy with nothing sent", n, err)
	}
	if c := r.checker.callCount(); c != 0 {
		t.Errorf("the Checker was asked %d times for a connection that carried no handshake", c)
	}
}

// logRecords is a slog handler that keeps the messages of the records it gets.
type logRecords struct {
	mu   *sync.Mutex // protects msgs
	msgs *[]string
}

func (h logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (h logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logRecords) WithGroup(string) slog.Handler      { return h }

// TestVerdictLoggedOnce: when OnVerdict is set, the one who receives the verdicts
// reports them (the app logs each event), so the proxy's own line about a verdict is
// Debug, not a second Info line per connection; without OnVerdict it stays Info.
func TestVerdictLoggedOnce(t *testing.T) {
	s := newSite(t, false)
	for _, withHook := range []bool{true, false} {
		var mu sync.Mutex
		var msgs []string
		var got []verifier.Verdict
		r := startProxy(t, func(c *Config) {
			c.Logger = slog.New(logRecords{&mu, &msgs})
			if withHook {
				c.OnVerdict = func(v verifier.Verdict) { mu.Lock(); got = append(got, v); mu.Unlock() }
			}
		})
		get(t, r.client(false), "https://good.test:"+s.port()+"/")
		r.stop(t)
		mu.Lock()
		joined := strings.Join(msgs, "\n")
		mu.Unlock()
		infoLine := strings.Contains(joined, "INFO verdict")
		if withHook && (infoLine || len(got) != 1) {
			t.Errorf("with OnVerdict: %d verdicts handed over, log:\n%s\nwant 1 handed over and no INFO verdict line", len(got), joined)
		}
		if !withHook && !infoLine {
			t.Errorf("without OnVerdict: log:\n%s\nwant an INFO verdict line", joined)
		}
	}
}
