package core

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// startLoopbackUpstream runs an HTTP proxy on loopback that tunnels every CONNECT to
// 127.0.0.1 at the port asked, whatever the host: the app's proxy goes through it to
// reach a site by a name no resolver knows, and (not knowing the address) checks the
// site as it would one on the Internet, where on loopback it would exempt it.
func startLoopbackUpstream(t *testing.T) string {
	return startUpstreamTo(t, func(port string) string { return port })
}

// startUpstreamTo is startLoopbackUpstream that sends a CONNECT for a port to the
// loopback port portFor gives: an attacker on the path, when it is another site.
func startUpstreamTo(t *testing.T, portFor func(string) string) string {
	t.Helper()
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, port, err := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || err != nil {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		site, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", portFor(port)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer site.Close()
		client, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer client.Close()
		io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n")
		done := make(chan struct{})
		go func() { // ends when the site or the client closes
			defer close(done)
			io.Copy(site, brw)
			site.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(client, site)
		client.Close()
		<-done
	}))
	up.Config.ErrorLog = log.New(io.Discard, "", 0)
	up.Start()
	t.Cleanup(up.Close)
	return up.URL
}

// TestHistoryWriteOffTheHandshake: the app's real proxy intercepts a real TLS site
// that a real notary vouches for, while every history write is held. The client's
// TLS handshake through the proxy completes, so no history write happened before it
// (none could finish); the verdict reaches the history once the writes go through.
func TestHistoryWriteOffTheHandshake(t *testing.T) {
	ctx := testHistoryCtx(t)
	site := httptest.NewUnstartedServer(http.NotFoundHandler()) // its certificate names example.com
	site.Config.ErrorLog = log.New(io.Discard, "", 0)
	site.StartTLS()
	t.Cleanup(site.Close)
	sitePort := site.Listener.Addr().(*net.TCPAddr).Port
	target := net.JoinHostPort("example.com", strconv.Itoa(sitePort))

	dir := t.TempDir()
	st, err := settings.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	set := settings.Defaults()
	set.UpstreamProxy = startLoopbackUpstream(t)
	err = st.SaveSettings(ctx, set)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Verifier.ImportBundle(ctx, testnotary.Start(t, t.TempDir(), "near", keys.KeyECDSA, sitePort), verifier.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	verdicts := make(chan verifier.Event, 8)
	c.Subscribe(func(ev verifier.Event) { verdicts <- ev })
	held := holdHistory(c.history, c.Store)
	released := false
	defer func() {
		if !released {
			close(held.release)
		}
	}()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- c.Proxy.Serve(sctx, ln) }() // ends at stop
	defer func() { stop(); <-served }()

	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %v %v", target, resp, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.CA().Certificate())
	tc := tls.Client(conn, &tls.Config{ServerName: "example.com", RootCAs: roots})
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatalf("the client's handshake did not complete while the history was held: %v", err)
	}
	// The handshake is done and every history write is still held.
	var ev verifier.Event
	select {
	case ev = <-verdicts: // published before the handshake completed
	case <-ctx.Done():
		t.Fatal("no verdict published")
	}
	if ev.Kind != verifier.EventVerified || ev.Verdict.Source != verifier.SourceNotaries || ev.Verdict.Target.Host != "example.com" {
		t.Fatalf("event %+v; want example.com verified by the notaries", ev)
	}
	batch := waitBatch(t, ctx, held)
	if len(batch) == 0 || batch[0].Kind != string(verifier.EventVerified) || batch[0].Host != "example.com" {
		t.Errorf("held write %+v; want the verdict on example.com", batch)
	}

	close(held.release)
	released = true
	h, err := c.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Kind != verifier.EventVerified || h[0].Verdict.Target.String() != target || h[0].Verdict.Source != verifier.SourceNotaries {
		t.Errorf("history %+v; want the verdict on %s", h, target)
	}
}
