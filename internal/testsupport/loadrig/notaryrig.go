package loadrig

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
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/probe"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/server"
	"github.com/convergence-ng/convergence/notary/store"
)

// NotaryRig is a real notary (SQLite store, prober allowed to probe loopback, v1 and
// v2 handlers, the real HTTPS listener) and a loopback TLS site it vouches for.
type NotaryRig struct {
	site   *httptest.Server
	port   int
	fp     string // the site's SHA-256 fingerprint
	pub    any    // the notary's v2 key
	base   string
	client *http.Client
	stop   func() // once
}

// StartNotary starts the rig; it stops when the test ends, or earlier with Stop.
func StartNotary(tb testing.TB) *NotaryRig {
	tb.Helper()
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	site.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	site.StartTLS()
	port := site.Listener.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithCancel(context.Background())
	dir := tb.TempDir()
	id, err := keys.LoadOrCreate(filepath.Join(dir, "data"), "", []string{"127.0.0.1"})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "notary.db"))
	if err != nil {
		tb.Fatal(err)
	}
	pol := &probe.Policy{Ports: []int{port},
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	n := server.New(server.Config{Store: st, Prober: probe.New(probe.Config{Policy: pol, ConnectTimeout: 5 * time.Second})})
	h, err := server.NewHandler(server.HandlerConfig{Notary: n, Identity: id, Name: "Load Notary", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { // ends when ctx is cancelled
		// Every load client is 127.0.0.1: one client to the per-client share, so it gets them all.
		done <- server.Serve(ctx, ln, server.ServeConfig{Handler: h, Certificate: id.TLS, MaxConnsPerClient: 1024, Logger: slog.New(slog.DiscardHandler)})
	}()
	pinned := id.Cert
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // replaced by the pin, as Convergence clients do
			VerifyConnection: func(cs tls.ConnectionState) error {
				if !cs.PeerCertificates[0].Equal(pinned) {
					return x509.UnknownAuthorityError{}
				}
				return nil
			},
		},
		MaxIdleConnsPerHost: 256,
	}
	b, err := id.Bundle(keys.BundleOptions{Name: "Load Notary", Hosts: []string{"127.0.0.1"}})
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := b.V2PublicKey(b.Hosts[0])
	if err != nil {
		tb.Fatal(err)
	}
	var once sync.Once
	r := &NotaryRig{site: site, port: port, fp: protocol.SHA256Fingerprint(site.Certificate().Raw), pub: pub,
		base: "https://" + ln.Addr().String(), client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	r.stop = func() {
		once.Do(func() {
			cancel()
			awaitServe(tb, done, "notary")
			tr.CloseIdleConnections()
			st.Close()
			site.Close()
		})
	}
	tb.Cleanup(r.stop)
	return r
}

// Stop stops the notary and the site and waits for them; later calls do nothing.
func (r *NotaryRig) Stop() { r.stop() }

// Query asks the notary about the site in v2 and verifies the signed answer. It is safe
// for concurrent use.
func (r *NotaryRig) Query() error {
	req, err := protocol.NewV2Request("127.0.0.1", r.port, r.fp)
	if err != nil {
		return err
	}
	raw, _ := req.Marshal()
	hreq, err := http.NewRequest(http.MethodPost, r.base+protocol.V2Path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(protocol.V2BatchHeader, protocol.V2BatchMerkle) // as the verifier asks
	resp, err := r.client.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxV2AnswerSize))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %q", resp.StatusCode, body)
	}
	a, err := protocol.VerifyV2(body, r.pub)
	if err != nil {
		return err
	}
	if err := a.Answers(req); err != nil {
		return err
	}
	if a.Status != protocol.StatusConfirmed {
		return fmt.Errorf("status %q", a.Status)
	}
	return nil
}
