package verifier

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// A scripted notary: a real HTTPS server on loopback speaking the wire formats of
// notary/protocol, whose answers the test writes. Where a real notary's bundle is all a
// test needs, it runs the project's own notary (internal/testsupport/testnotary:
// realnotary_test.go, preview_test.go, the bundle imports). That one probes for real,
// so it cannot be told what the tests here script: which certificate it sees for
// site.example:443 (a port a loopback test cannot bind), since when (30 days, an hour),
// that one host is out of its reach, one key on two servers; nor does it count the
// queries it gets. And the honest answer is what every fault mode bends (wrong
// signature, garbage, slow drip, skewed clock, ...), which the verifier must treat as
// failing.

type notaryMode int

const (
	modeHonest      notaryMode = iota // answers truthfully about what it sees
	modeV1Only                        // honest, but 404 on the v2 path (an original notary)
	modeHung                          // blocks until released or the client gives up
	modeGarbage                       // 200 with a body that is not an answer
	modeWrongSig                      // a well-formed answer signed with another key
	modeWrongPin                      // presents a certificate other than its bundle's
	modeHuge                          // a body over the size limit
	modeSlowDrip                      // sends its answer a byte at a time, forever
	modeSkewed                        // its clock is an hour off
	modeBadNonce                      // echoes another nonce
	modeUnreachSite                   // cannot reach the site (v2 status unreachable)
	// Batch signatures (protocol.SignV2Batch): the answer is signed in a batch of three
	// with two answers to other nonces, honestly or forged (scriptedbatch_test.go).
	modeBatch          // honest: the answer, its path and the root's signature
	modeBatchWrongPath // one bit of the path flipped
	modeBatchOtherLeaf // the signature member of another answer in the batch
	modeBatchOtherRoot // the path right, the signature over another batch's root
	modeBatchNotOwn    // another answer of the batch, validly signed: not this request's
	modeBatchAsPlain   // a batch of one's root signature presented as an answer's own
)

// testNotary is one real notary server on 127.0.0.1.
type testNotary struct {
	t        testing.TB
	name     string
	mode     notaryMode
	key      crypto.Signer
	cert     *x509.Certificate // the pinned certificate in its bundle
	srv      *httptest.Server
	sees     *x509.Certificate // the site certificate this notary observes
	seenFrom time.Time         // when it first saw it
	// views overrides sees per target host; a nil certificate means the notary cannot
	// reach that site. Set before the first query, never changed after.
	views map[string]*x509.Certificate

	requests atomic.Int64  // queries received
	answered atomic.Int64  // queries answered (hung: only after release)
	entered  chan struct{} // hung: receives when a query arrives
	release  chan struct{} // hung: closed to let queries finish
	relOnce  sync.Once
}

// newKeyCert makes a self-signed ECDSA P-256 certificate for cn and 127.0.0.1, valid
// for a year (the tests' clocks move days ahead).
func newKeyCert(t testing.TB, cn string) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	c := testcerts.New(t, testcerts.Options{NotAfter: time.Now().Add(365 * 24 * time.Hour)}, cn, "127.0.0.1")
	return c.Key, c.Cert
}

func certPEM(c *x509.Certificate) string { return string(testcerts.PEM(c)) }

// startNotary starts a notary that observes sees (first seen at seenFrom).
func startNotary(t testing.TB, name string, mode notaryMode, sees *x509.Certificate, seenFrom time.Time) *testNotary {
	t.Helper()
	key, cert := newKeyCert(t, name)
	return startNotaryWithKey(t, name, mode, sees, seenFrom, key, cert)
}

func startNotaryWithKey(t testing.TB, name string, mode notaryMode, sees *x509.Certificate, seenFrom time.Time, key crypto.Signer, cert *x509.Certificate) *testNotary {
	t.Helper()
	n := &testNotary{t: t, name: name, mode: mode, key: key, cert: cert, sees: sees, seenFrom: seenFrom,
		entered: make(chan struct{}, 64), release: make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(n.serve))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are what some tests cause
	served := cert
	servedKey := key
	if mode == modeWrongPin {
		servedKey, served = newKeyCert(t, name) // not the certificate in the bundle
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{served.Raw}, PrivateKey: servedKey, Leaf: served}}}
	srv.StartTLS()
	n.srv = srv
	t.Cleanup(func() {
		n.releaseAll()
		srv.CloseClientConnections()
		srv.Close()
	})
	return n
}

func (n *testNotary) releaseAll() { n.relOnce.Do(func() { close(n.release) }) }

// port returns the notary's TLS port.
func (n *testNotary) port() int { return n.srv.Listener.Addr().(*net.TCPAddr).Port }

// bundle returns the notary's .notary file.
func (n *testNotary) bundle() []byte {
	n.t.Helper()
	b := protocol.Bundle{Version: 1, Name: n.name, Hosts: []protocol.BundleHost{{
		Host: "127.0.0.1", SSLPort: n.port(), HTTPPort: 0, CertificatePEM: certPEM(n.cert),
	}}}
	if _, err := protocol.AlgorithmV2(n.cert.PublicKey); err == nil {
		b.V2 = &protocol.BundleV2{Protocols: []int{1, 2}, KeyType: "ecdsa-p256"}
	}
	data, err := protocol.MarshalBundle(b)
	if err != nil {
		n.t.Fatal(err)
	}
	return data
}

// bundleFile writes the bundle into dir and returns its path.
func (n *testNotary) bundleFile(dir string) string {
	n.t.Helper()
	p := filepath.Join(dir, n.name+".notary")
	if err := os.WriteFile(p, n.bundle(), 0o600); err != nil {
		n.t.Fatal(err)
	}
	return p
}

func (n *testNotary) serve(w http.ResponseWriter, r *http.Request) {
	n.requests.Add(1)
	switch n.mode {
	case modeHung:
		n.entered <- struct{}{}
		select {
		case <-n.release:
		case <-r.Context().Done():
			return // the client gave up: no answer
		}
	case modeV1Only:
		if r.URL.Path == protocol.V2Path {
			http.NotFound(w, r)
			return
		}
	}
	body, status := n.answer(r)
	switch n.mode {
	case modeGarbage:
		body, status = []byte("<html>this is not a notary</html>"), http.StatusOK
	case modeHuge:
		body, status = []byte(strings.Repeat(" ", protocol.MaxV2AnswerSize+10)+"{}"), http.StatusOK
	case modeSlowDrip:
		w.WriteHeader(http.StatusOK)
		for i := 0; ; i++ {
			if _, err := w.Write(body[i%len(body) : i%len(body)+1]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	n.answered.Add(1)
}

// answer builds the protocol answer for the request, honest or skewed per the mode.
func (n *testNotary) answer(r *http.Request) ([]byte, int) {
	if r.URL.Path == protocol.V2Path {
		data, _ := io.ReadAll(io.LimitReader(r.Body, protocol.MaxV2RequestSize+1))
		req, err := protocol.ParseV2Request(data)
		if err != nil {
			return []byte(`{"error":"bad request"}`), http.StatusBadRequest
		}
		sees, blind := n.view(req.Host)
		seesFP := protocol.SHA256Fingerprint(sees.Raw)
		a := protocol.V2Answer{
			Nonce: req.Nonce, Time: time.Now().Unix(),
			Target: protocol.V2Target{Host: req.Host, Port: req.Port}, SHA256: req.SHA256, Window: 3600,
			Observations: []protocol.V2Observation{{SHA256: seesFP, FirstSeen: n.seenFrom.Unix(), LastSeen: time.Now().Unix()}},
		}
		verdict := protocol.VerdictDisagree
		if req.SHA256 == seesFP {
			verdict = protocol.VerdictAgree
		}
		if n.mode == modeUnreachSite || blind {
			verdict = protocol.VerdictError
			a.Observations = nil
		}
		a.Checks = []protocol.V2Check{{Name: protocol.CheckNetwork, Verdict: verdict, Deciding: true}}
		a.Status = protocol.OverallStatus(a.Checks, true)
		key := n.key
		switch n.mode {
		case modeSkewed:
			a.Time -= 3600
		case modeBadNonce:
			a.Nonce = strings.Repeat("ab", 32)
		case modeWrongSig:
			key, _ = newKeyCert(n.t, "other")
		}
		if n.mode >= modeBatch {
			return n.batchAnswer(a)
		}
		body, err := protocol.SignV2(a, key)
		if err != nil {
			return []byte(err.Error()), http.StatusInternalServerError
		}
		return body, http.StatusOK
	}
	if !strings.HasPrefix(r.URL.Path, protocol.V1PathPrefix) || r.Method != http.MethodPost {
		return []byte("not found"), http.StatusNotFound
	}
	host, _, err := protocol.ParseV1Path(r.URL.Path)
	if err != nil {
		return []byte("bad target"), http.StatusBadRequest
	}
	sees, blind := n.view(host)
	if n.mode == modeUnreachSite || blind {
		return []byte("could not reach the site"), http.StatusServiceUnavailable
	}
	seesSHA1 := protocol.SHA1Fingerprint(sees.Raw)
	entries := []protocol.V1Entry{{Fingerprint: seesSHA1, Start: n.seenFrom.Unix(), Finish: time.Now().Unix()}}
	key := n.key
	if n.mode == modeWrongSig {
		key, _ = newKeyCert(n.t, "other")
	}
	body, err := protocol.SignV1(entries, key)
	if err != nil {
		return []byte(err.Error()), http.StatusInternalServerError
	}
	asked, _ := protocol.NormalizeSHA1Fingerprint(r.PostFormValue("fingerprint"))
	if asked == seesSHA1 {
		return body, http.StatusOK
	}
	return body, http.StatusConflict
}

// view returns the certificate the notary sees for host, or blind when it cannot
// reach it.
func (n *testNotary) view(host string) (cert *x509.Certificate, blind bool) {
	if c, ok := n.views[host]; ok {
		return c, c == nil
	}
	return n.sees, false
}

// newRSANotary starts an honest notary with an RSA-2048 key, which can only speak v1.
func newRSANotary(t testing.TB, name string, sees *x509.Certificate, seenFrom time.Time) *testNotary {
	t.Helper()
	c := testcerts.New(t, testcerts.Options{RSA: true}, name, "127.0.0.1")
	return startNotaryWithKey(t, name, modeHonest, sees, seenFrom, c.Key, c.Cert)
}
