package verifier

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

func TestImportBundleSources(t *testing.T) {
	e := newEnv(t, nil)
	bundle, n := realNotaryBundle(t, "web")
	// A real HTTPS server on loopback serves the bundle, as a notary's site would.
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.notary", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(bundle) })
	mux.HandleFunc("/huge.notary", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat(" ", protocol.MaxBundleSize+1)))
	})
	mux.HandleFunc("/missing.notary", http.NotFound)
	web := httptest.NewUnstartedServer(mux)
	web.Config.ErrorLog = log.New(io.Discard, "", 0)
	web.StartTLS()
	t.Cleanup(web.Close)
	roots := x509.NewCertPool()
	roots.AddCert(web.Certificate())
	e.start(Config{bundleRoots: roots})

	got, err := e.v.ImportBundle(e.ctx, web.URL+"/ok.notary", ImportOptions{})
	if err != nil || got.Name != "web" || !got.Enabled || got.Source != "url:"+web.URL+"/ok.notary" {
		t.Fatalf("import from URL: %+v, %v", got, err)
	}
	if _, err := e.v.ImportBundle(e.ctx, web.URL+"/huge.notary", ImportOptions{}); !errors.Is(err, protocol.ErrTooLarge) {
		t.Errorf("oversized bundle: %v, want ErrTooLarge", err)
	}
	if _, err := e.v.ImportBundle(e.ctx, web.URL+"/missing.notary", ImportOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing bundle: %v, want a 404 error", err)
	}
	if _, err := e.v.ImportBundle(e.ctx, "http://127.0.0.1:1/x.notary", ImportOptions{}); !errors.Is(err, ErrBundleSource) {
		t.Errorf("plain http: %v, want ErrBundleSource", err)
	}
	// The system roots do not know the test CA: a verifier without the seam refuses it.
	e2 := newEnv(t, nil)
	e2.start(Config{})
	if _, err := e2.v.ImportBundle(e2.ctx, web.URL+"/ok.notary", ImportOptions{}); err == nil {
		t.Error("bundle fetched from a server with an untrusted certificate")
	}

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := e.v.ImportBundle(e.ctx, write("bad.notary", `{"version": 7}`), ImportOptions{}); !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("malformed bundle: %v, want ErrMalformed", err)
	}
	if _, err := e.v.ImportBundle(e.ctx, write("big.notary", strings.Repeat("x", protocol.MaxBundleSize+1)), ImportOptions{}); !errors.Is(err, protocol.ErrTooLarge) {
		t.Errorf("oversized file: %v, want ErrTooLarge", err)
	}
	if _, err := e.v.ImportBundle(e.ctx, filepath.Join(dir, "nope.notary"), ImportOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	// v0: one flat host object, named after its host.
	v0 := `{"host": "127.0.0.1", "ssl_port": ` + itoa(n.Hosts[0].SSLPort) + `, "http_port": 0, "certificate": ` + jsonString(n.Hosts[0].CertificatePEM) + `}`
	got, err = e.v.ImportBundle(e.ctx, write("v0.notary", v0), ImportOptions{Disabled: true})
	if err != nil || got.Name != "127.0.0.1" || got.Enabled {
		t.Fatalf("v0 import: %+v, %v", got, err)
	}
	list, err := e.v.ListNotaries(e.ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListNotaries: %d, %v", len(list), err)
	}
}

func TestPinsAndExemptions(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.CacheTTL = 0 })
	e.start(Config{})
	e.add("a", modeHonest)
	site := Target{Host: "site.example", Port: 443}
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)
	if err := e.v.Pin(e.ctx, site, strings.ToUpper(FingerprintSHA256(e.fake)), "my router"); err != nil {
		t.Fatal(err)
	}
	asked := e.totalRequests()
	wantOutcome(t, e.verify(e.fake), OutcomeTrusted, SourcePin)
	if e.totalRequests() != asked {
		t.Error("a pinned certificate was sent to the notaries")
	}
	if err := e.v.Unpin(e.ctx, site, FingerprintSHA256(e.fake)); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, e.verify(e.fake), OutcomeRejected, SourceNotaries)

	verifyAt := func(tg Target) Verdict {
		t.Helper()
		vd, err := e.v.Verify(e.ctx, tg, []*x509.Certificate{e.fake})
		if err != nil {
			t.Fatal(err)
		}
		return vd
	}
	// Addresses below are data only: nothing dials them.
	wantOutcome(t, verifyAt(Target{Host: "127.0.0.1", Port: 8443}), OutcomeTrusted, SourceExempt)
	wantOutcome(t, verifyAt(Target{Host: "::1", Port: 8443}), OutcomeTrusted, SourceExempt)
	wantOutcome(t, verifyAt(Target{Host: "app.localhost", Port: 443}), OutcomeTrusted, SourceExempt)
	wantOutcome(t, verifyAt(Target{Host: "intranet.example", Port: 443, Addr: netip.MustParseAddr("127.0.0.2")}), OutcomeTrusted, SourceExempt)
	private := Target{Host: "10.1.2.3", Port: 443}
	named := Target{Host: "nas.example", Port: 443, Addr: netip.MustParseAddr("192.168.1.20")}
	wantOutcome(t, verifyAt(private), OutcomeRejected, SourceNotaries)
	wantOutcome(t, verifyAt(named), OutcomeRejected, SourceNotaries)

	s, err := e.store.Settings(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.ExemptPrivate = true
	if err := e.store.SaveSettings(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Reload(e.ctx); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, verifyAt(private), OutcomeTrusted, SourceExempt)
	wantOutcome(t, verifyAt(named), OutcomeTrusted, SourceExempt)
	wantOutcome(t, verifyAt(Target{Host: "fd00::5", Port: 443}), OutcomeTrusted, SourceExempt)
	wantOutcome(t, verifyAt(Target{Host: "93.184.216.34", Port: 443}), OutcomeRejected, SourceNotaries)
}

func TestMaxNotariesSubset(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.MaxNotaries = 2; s.CacheTTL = 0; s.Threshold = settings.ThresholdAll })
	e.start(Config{})
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		e.add(n, modeHonest)
	}
	for i := range 5 {
		vd := e.verify(e.real)
		if vd.Asked != 2 || len(vd.Answers) != 2 || !vd.Allowed() {
			t.Fatalf("verdict %+v, want 2 notaries asked", vd)
		}
		if got := e.totalRequests(); got != int64(2*(i+1)) {
			t.Fatalf("%d requests after %d checks, want %d", got, i+1, 2*(i+1))
		}
	}
}

func TestCheckFetchesTheSite(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{})
	key, cert := newKeyCert(t, "127.0.0.1")
	// A real TLS site on loopback.
	site := httptest.NewUnstartedServer(http.NotFoundHandler())
	site.Config.ErrorLog = log.New(io.Discard, "", 0)
	site.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}}
	site.StartTLS()
	t.Cleanup(site.Close)
	e.addSeeing("a", modeHonest, cert, time.Now().Add(-time.Hour))
	e.addSeeing("b", modeHonest, cert, time.Now().Add(-time.Hour))
	port := site.Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	vd, err := e.v.Check(e.ctx, Target{Host: "127.0.0.1", Port: int(port)})
	if err != nil {
		t.Fatal(err)
	}
	// Loopback is exempt for browsing, but Check asks the notaries anyway.
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	if vd.FingerprintSHA256 != FingerprintSHA256(cert) {
		t.Errorf("Check judged %q, want the site's certificate", vd.FingerprintSHA256)
	}
	site.Close()
	if _, err := e.v.Check(e.ctx, Target{Host: "127.0.0.1", Port: int(port)}); err == nil {
		t.Error("Check of a closed site succeeded")
	}
}

func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("run", func(t *testing.T) {
		e := newEnv(t, func(s *settings.Settings) { s.Threshold = settings.ThresholdAll })
		e.start(Config{QueryTimeout: 30 * time.Second})
		e.add("a", modeHonest)
		hung := e.add("hung", modeHung)
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan error, 1)
		go func() {
			_, err := e.v.Verify(ctx, Target{Host: "site.example", Port: 443}, []*x509.Certificate{e.real})
			done <- err
		}()
		<-hung.entered
		cancel() // the caller gives up; the shared check goes on until Close
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify after cancel: %v", err)
		}
		if err := e.v.Close(); err != nil { // returns once the hung query is cancelled
			t.Fatal(err)
		}
		if hung.answered.Load() != 0 {
			t.Fatal("the hung notary answered")
		}
		if _, err := e.v.Verify(e.ctx, Target{Host: "site.example", Port: 443}, []*x509.Certificate{e.real}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Verify after Close: %v", err)
		}
	})
	// The subtest's cleanups closed the notaries and the store; nothing of the
	// verifier's may be left running.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
