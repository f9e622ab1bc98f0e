package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/internal/testsupport/testnotary"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// mtlsSite is a real TLS site speaking only version (certificate for example.com)
// that requires a client certificate issued by clientCA; with own, it shows that
// certificate instead of httptest's.
func mtlsSite(t *testing.T, clientCA *testcerts.Cert, own *testcerts.Cert, version uint16) *httptest.Server {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.TLS = &tls.Config{MinVersion: version, MaxVersion: version, ClientAuth: tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			c, err := x509.ParseCertificate(raw[0])
			if err == nil {
				_, err = c.Verify(x509.VerifyOptions{Roots: clientCA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			}
			return err
		}}
	if own != nil {
		s.TLS.Certificates = []tls.Certificate{own.TLS()}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// TestVerifyWithoutReadingWithRealNotaries: the app's own proxy, verifier and store,
// a real notary. A site that requires a client certificate, decided for verify
// without reading: an app's mutual TLS goes through when the notary sees the same
// certificate, and is cut when someone on the path shows the proxy another one; with
// TLS 1.2 (where such a site aborts the notary's handshake after showing its
// certificate) and 1.3.
func TestVerifyWithoutReadingWithRealNotaries(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) { verifyWithoutReadingWithRealNotaries(t, version) })
	}
}

func verifyWithoutReadingWithRealNotaries(t *testing.T, version uint16) {
	clientCA := testcerts.NewCA(t, "company CA")
	alice := clientCA.Issue(t, testcerts.Options{CommonName: "alice"}, "alice")
	real := mtlsSite(t, clientCA, nil, version)
	impostor := mtlsSite(t, clientCA, testcerts.SelfSigned(t, "example.com"), version) // another certificate for example.com
	realPort := strconv.Itoa(real.Listener.Addr().(*net.TCPAddr).Port)
	impostorPort := strconv.Itoa(impostor.Listener.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		name   string
		via    func(string) string // where the path sends the app's proxy
		served bool
	}{
		{"notaries agree", func(p string) string { return p }, true},
		{"someone on the path", func(p string) string { // the site's port only: the notary is reached
			if p == realPort {
				return impostorPort
			}
			return p
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dir := t.TempDir()
			st, err := settings.Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			set := settings.Defaults()
			set.UpstreamProxy = startUpstreamTo(t, tc.via) // the notary reaches the site itself
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
			if _, err := c.Verifier.ImportBundle(ctx, testnotary.Start(t, t.TempDir(), "near", keys.KeyECDSA, real.Listener.Addr().(*net.TCPAddr).Port), verifier.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := c.VerifyWithoutReading(ctx, "example.com", real.Listener.Addr().(*net.TCPAddr).Port, ""); err != nil {
				t.Fatal(err)
			}
			events := make(chan verifier.Event, 16)
			c.Subscribe(func(ev verifier.Event) {
				select {
				case events <- ev:
				default:
				}
			})
			ds, err := c.Decisions(ctx)
			if err != nil || len(ds) != 1 || ds[0].Kind != DecisionPassthrough || !strings.Contains(ds[0].What, PassthroughCost) {
				t.Fatalf("Decisions = %+v, %v", ds, err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			sctx, stop := context.WithCancel(ctx)
			served := make(chan error, 1)
			go func() { served <- c.Proxy.Serve(sctx, ln) }() // ends at stop
			defer func() { stop(); <-served }()

			roots := x509.NewCertPool()
			roots.AddCert(real.Certificate()) // httptest's one certificate: the app pins it
			app := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
				Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: ln.Addr().String()}),
				TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{alice.TLS()}},
			}}
			resp, err := app.Get("https://example.com:" + realPort + "/")
			if !tc.served {
				if err == nil {
					resp.Body.Close()
					t.Fatal("the app was served although the notary saw another certificate")
				}
				for range len(events) { // the verdict was published before the connection was closed
					if e := <-events; e.Kind == verifier.EventRejected && e.Verdict.Code == verifier.ReasonDisagree {
						return
					}
				}
				t.Fatalf("cut (%v), but no rejection for a disagreement was published", err)
			}
			if err != nil {
				t.Fatalf("through verify without reading: %v", err)
			}
			defer resp.Body.Close()
			if b, _ := io.ReadAll(resp.Body); string(b) != "hello alice" {
				t.Fatalf("got %q, want %q", b, "hello alice")
			}
		})
	}
}
