package verifier

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// TestReadBundleThenImportTrustsWhatWasShown reads a bundle from a real HTTPS server on
// loopback that serves bundle A the first time and bundle B after: the user is shown A,
// and importing the bytes read stores A without fetching again.
func TestReadBundleThenImportTrustsWhatWasShown(t *testing.T) {
	e := newEnv(t, nil)
	bundleA, a := realNotaryBundle(t, "Notary A")
	bundleB, _ := realNotaryBundle(t, "Notary B")
	var fetches atomic.Int32
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if fetches.Add(1) == 1 {
			_, _ = w.Write(bundleA)
			return
		}
		_, _ = w.Write(bundleB)
	}))
	web.Config.ErrorLog = log.New(io.Discard, "", 0)
	web.StartTLS()
	t.Cleanup(web.Close)
	roots := x509.NewCertPool()
	roots.AddCert(web.Certificate())
	e.start(Config{bundleRoots: roots})
	src := web.URL + "/notary.notary"

	raw, shown, err := e.v.ReadBundle(e.ctx, src)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if shown.Name != "Notary A" || !bytes.Equal(raw, bundleA) {
		t.Fatalf("read %q (%d bytes), want Notary A's bundle", shown.Name, len(raw))
	}
	if ns, err := e.store.Notaries(e.ctx); err != nil || len(ns) != 0 {
		t.Fatalf("notaries stored by a read: %+v, %v", ns, err)
	}

	got, err := e.v.ImportBundleBytes(e.ctx, raw, src, ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if got.Name != "Notary A" || got.Source != "url:"+src || !bytes.Equal(got.Bundle, bundleA) {
		t.Fatalf("imported %q from %q, want Notary A from url:%s", got.Name, got.Source, src)
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("the server was asked %d times, want once: the import fetched again", n)
	}
	ns, err := e.store.Notaries(e.ctx)
	if err != nil || len(ns) != 1 || ns[0].Name != "Notary A" || len(ns[0].Hosts) != 1 || ns[0].Hosts[0].SSLPort != a.Hosts[0].SSLPort {
		t.Fatalf("stored notaries: %+v, %v; want Notary A alone", ns, err)
	}

	// The server does change its answer: reading the URL again gets B.
	if _, again, err := e.v.ReadBundle(e.ctx, src); err != nil || again.Name != "Notary B" {
		t.Fatalf("second read: %q, %v; want Notary B", again.Name, err)
	}

	// Bytes that are not a bundle are refused, and nothing is stored.
	if _, err := e.v.ImportBundleBytes(e.ctx, []byte(`{"version": 7}`), src, ImportOptions{}); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("malformed bytes: %v, want ErrMalformed", err)
	}
	if ns, _ := e.store.Notaries(e.ctx); len(ns) != 1 {
		t.Fatalf("notaries after malformed bytes: %d, want 1", len(ns))
	}
}
