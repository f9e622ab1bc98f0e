package verifier

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// bundleSite is a real HTTPS server on loopback publishing .notary files, as a notary
// operator's web site would; the test changes what it serves and counts requests.
type bundleSite struct {
	t     *testing.T
	srv   *httptest.Server
	roots *x509.CertPool // trusts srv: the verifier's bundleRoots seam

	mu     sync.Mutex // protects bodies, hits
	bodies map[string][]byte
	hits   map[string]*atomic.Int64
}

func startBundleSite(t *testing.T) *bundleSite {
	t.Helper()
	s := &bundleSite{t: t, bodies: map[string][]byte{}, hits: map[string]*atomic.Int64{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.counter(r.URL.Path).Add(1)
		s.mu.Lock()
		body, ok := s.bodies[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	s.roots = x509.NewCertPool()
	s.roots.AddCert(s.srv.Certificate())
	return s
}

func (s *bundleSite) url(path string) string { return s.srv.URL + path }

func (s *bundleSite) serve(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies[path] = body
}

func (s *bundleSite) counter(path string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hits[path] == nil {
		s.hits[path] = &atomic.Int64{}
	}
	return s.hits[path]
}

// publishedBundle is n's bundle under name, published at loc, with region.
func publishedBundle(t *testing.T, n *testNotary, name, loc, region string) []byte {
	t.Helper()
	b, err := protocol.ParseBundle(n.bundle())
	if err != nil {
		t.Fatal(err)
	}
	b.Name, b.BundleLocation, b.Region = name, loc, region
	data, err := protocol.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func resultFor(t *testing.T, r RefreshReport, name string) RefreshResult {
	t.Helper()
	for _, res := range r.Results {
		if res.Notary == name {
			return res
		}
	}
	t.Fatalf("no result for %q in %+v", name, r.Results)
	return RefreshResult{}
}

// TestRefreshBundles refreshes six notaries in one run: one moved to a new host (and is
// disabled by the user), one serving the same bundle, one revoked, one whose bundle
// now names another notary, one serving garbage and one serving too much.
func TestRefreshBundles(t *testing.T) {
	e := newEnv(t, nil)
	site := startBundleSite(t)
	e.start(Config{bundleRoots: site.roots})
	notary := map[string]*testNotary{}
	for _, name := range []string{"moved", "same", "revoked", "renamed", "garbage", "huge", "local"} {
		n := startNotary(t, name, modeHonest, e.real, e.real.NotBefore)
		notary[name] = n
		path := "/" + name + ".notary"
		site.serve(path, publishedBundle(t, n, name, site.url(path), ""))
		if name == "local" { // imported from a file with no bundle_location: never refreshed
			e.importNotary(n)
			continue
		}
		if _, err := e.v.ImportBundle(e.ctx, site.url(path), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.SetNotaryEnabled(e.ctx, "moved", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Revoke(e.ctx, "revoked"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"moved", "same", "revoked", "renamed", "garbage", "huge"} {
		site.counter("/" + name + ".notary").Store(0)
	}

	// What the site serves now.
	movedTo := startNotary(t, "moved", modeHonest, e.real, e.real.NotBefore) // new host, new key
	site.serve("/moved.notary", publishedBundle(t, movedTo, "moved", site.url("/moved.notary"), "DE"))
	site.serve("/revoked.notary", publishedBundle(t, movedTo, "revoked", site.url("/revoked.notary"), ""))
	site.serve("/renamed.notary", publishedBundle(t, notary["renamed"], "someone else", site.url("/renamed.notary"), ""))
	site.serve("/garbage.notary", []byte(`{"version": 7}`))
	site.serve("/huge.notary", []byte(strings.Repeat(" ", protocol.MaxBundleSize+1)))
	before, err := e.store.Notaries(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]settings.Notary{}
	for _, n := range before {
		stored[n.Name] = n
	}

	report, err := e.v.RefreshBundles(e.ctx)
	if err != nil {
		t.Fatalf("RefreshBundles: %v", err)
	}
	if len(report.Results) != 5 {
		t.Errorf("%d results, want 5 (neither the revoked nor the file-only notary): %+v", len(report.Results), report.Results)
	}
	if got, want := [3]int{report.Count(RefreshUpdated), report.Count(RefreshUnchanged), report.Count(RefreshFailed)}, [3]int{0, 1, 4}; got != want {
		t.Errorf("updated, unchanged, failed = %v, want %v", got, want)
	}

	// Moved: a new host and key are never taken from the web; nothing changes until
	// the user imports the bundle, and the user's "disabled" stays.
	if res := resultFor(t, report, "moved"); res.Status != RefreshFailed || !res.KeysChanged || !errors.Is(res.Err, ErrBundleKeysChanged) ||
		!strings.Contains(res.Err.Error(), "notary add") {
		t.Errorf("moved: %+v, want a failure with ErrBundleKeysChanged that says how to import it", res)
	}
	m, err := e.store.Notary(e.ctx, "moved")
	if err != nil {
		t.Fatal(err)
	}
	if m.Enabled || m.Revoked || len(m.Hosts) != 1 || m.Hosts[0].SSLPort != notary["moved"].port() ||
		m.Hosts[0].CertificatePEM != certPEM(notary["moved"].cert) || !m.UpdatedAt.Equal(stored["moved"].UpdatedAt) {
		t.Errorf("moved after refresh: enabled %v revoked %v hosts %+v; want it untouched, disabled, on port %d",
			m.Enabled, m.Revoked, m.Hosts, notary["moved"].port())
	}

	if res := resultFor(t, report, "same"); res.Status != RefreshUnchanged || res.Err != nil {
		t.Errorf("same: %+v, want unchanged", res)
	}
	if s, _ := e.store.Notary(e.ctx, "same"); !s.UpdatedAt.Equal(stored["same"].UpdatedAt) {
		t.Error("an unchanged bundle was written again")
	}

	// Revoked: never fetched, still revoked with its old hosts.
	if n := site.counter("/revoked.notary").Load(); n != 0 {
		t.Errorf("the revoked notary's bundle was fetched %d times", n)
	}
	if r, _ := e.store.Notary(e.ctx, "revoked"); !r.Revoked || r.Hosts[0].SSLPort != notary["revoked"].port() {
		t.Errorf("revoked notary after refresh: %+v", r)
	}

	// Renamed: refused; no rename, no second notary.
	res := resultFor(t, report, "renamed")
	if res.Status != RefreshFailed || !errors.Is(res.Err, ErrBundleRenamed) ||
		!strings.Contains(res.Err.Error(), `now names notary "someone else"`) || !strings.Contains(res.Err.Error(), site.url("/renamed.notary")) {
		t.Errorf("renamed: %+v, want a failure naming the location and the new name", res)
	}
	if _, err := e.store.Notary(e.ctx, "someone else"); !errors.Is(err, settings.ErrNotFound) {
		t.Errorf("the renamed bundle was stored as a new notary (%v)", err)
	}

	if res := resultFor(t, report, "garbage"); res.Status != RefreshFailed || !errors.Is(res.Err, protocol.ErrMalformed) {
		t.Errorf("garbage: %+v, want ErrMalformed", res)
	}
	if res := resultFor(t, report, "huge"); res.Status != RefreshFailed || !errors.Is(res.Err, protocol.ErrTooLarge) {
		t.Errorf("huge: %+v, want ErrTooLarge", res)
	}
	// Nothing that failed was changed.
	for _, name := range []string{"renamed", "garbage", "huge"} {
		got, err := e.store.Notary(e.ctx, name)
		if err != nil || !got.UpdatedAt.Equal(stored[name].UpdatedAt) || string(got.Bundle) != string(stored[name].Bundle) {
			t.Errorf("%s changed by a failed refresh (%v)", name, err)
		}
	}
	after, err := e.store.Notaries(e.ctx)
	if err != nil || len(after) != len(before) {
		t.Errorf("%d notaries after refresh, %d before (%v)", len(after), len(before), err)
	}
}

// TestRefreshNeverChangesKeysSilently: a bundle update that keeps the hosts and keys
// is applied and keeps the cached verdicts; one that moves a notary to a new key (as an
// attacker with a misissued certificate for the bundle's domain could serve) changes
// nothing: the old pin stays in use and its verdicts stay.
func TestRefreshNeverChangesKeysSilently(t *testing.T) {
	e := newEnv(t, nil)
	site := startBundleSite(t)
	e.start(Config{bundleRoots: site.roots})
	rot := startNotary(t, "rot", modeHonest, e.real, e.real.NotBefore)
	steady := startNotary(t, "steady", modeHonest, e.real, e.real.NotBefore)
	for _, n := range []*testNotary{rot, steady} {
		path := "/" + n.name + ".notary"
		site.serve(path, publishedBundle(t, n, n.name, site.url(path), ""))
		if _, err := e.v.ImportBundle(e.ctx, site.url(path), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	wantOutcome(t, e.verify(e.real), OutcomeTrusted, SourceNotaries)
	if es, err := e.store.CacheEntries(e.ctx); err != nil || len(es) != 1 || len(es[0].Vouchers) != 2 {
		t.Fatalf("cache after the first check: %+v, %v; want one verdict vouched by both", es, err)
	}

	// Same keys, new region: applied, and the verdict stays.
	site.serve("/steady.notary", publishedBundle(t, steady, "steady", site.url("/steady.notary"), "FR"))
	report, err := e.v.RefreshBundles(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res := resultFor(t, report, "steady"); res.Status != RefreshUpdated || res.KeysChanged {
		t.Errorf("steady: %+v, want updated with the same keys", res)
	}
	if n, _ := e.store.Notary(e.ctx, "steady"); n.Region != "FR" {
		t.Errorf("steady's region after refresh %q, want FR", n.Region)
	}
	if es, _ := e.store.CacheEntries(e.ctx); len(es) != 1 {
		t.Fatalf("a refresh that kept the keys dropped cached verdicts: %+v", es)
	}

	// rot's bundle now names a new key: refused, the old pin stays in use.
	rot2 := startNotary(t, "rot", modeHonest, e.real, e.real.NotBefore)
	site.serve("/rot.notary", publishedBundle(t, rot2, "rot", site.url("/rot.notary"), ""))
	// steady's bundle now points elsewhere for its next refresh: refused too.
	site.serve("/steady.notary", publishedBundle(t, steady, "steady", site.url("/elsewhere.notary"), "FR"))
	report, err = e.v.RefreshBundles(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rot", "steady"} {
		if res := resultFor(t, report, name); res.Status != RefreshFailed || !res.KeysChanged || !errors.Is(res.Err, ErrBundleKeysChanged) {
			t.Errorf("%s: %+v, want refused with ErrBundleKeysChanged", name, res)
		}
	}
	if n, _ := e.store.Notary(e.ctx, "steady"); n.BundleLocation != site.url("/steady.notary") {
		t.Errorf("steady's bundle location became %q", n.BundleLocation)
	}
	if es, _ := e.store.CacheEntries(e.ctx); len(es) != 1 {
		t.Fatalf("cache after a refused key change: %+v, want the verdict kept", es)
	}
	if _, err := e.v.ClearCache(e.ctx); err != nil {
		t.Fatal(err)
	}
	oldAsked := rot.requests.Load()
	vd := e.verify(e.real)
	wantOutcome(t, vd, OutcomeTrusted, SourceNotaries)
	if answerOf(t, vd, "rot").Kind != AnswerAgree || rot2.requests.Load() != 0 || rot.requests.Load() == oldAsked {
		t.Errorf("after the refused refresh rot answered %+v; new host asked %d times, old host asked %d more times",
			answerOf(t, vd, "rot"), rot2.requests.Load(), rot.requests.Load()-oldAsked)
	}
}

// TestRefreshNetworkFailure: an unreachable location is one notary's failure, not the run's.
func TestRefreshNetworkFailure(t *testing.T) {
	e := newEnv(t, nil)
	site := startBundleSite(t)
	e.start(Config{bundleRoots: site.roots})
	up := startNotary(t, "up", modeHonest, e.real, e.real.NotBefore)
	gone := startNotary(t, "gone", modeHonest, e.real, e.real.NotBefore)
	site.serve("/up.notary", publishedBundle(t, up, "up", site.url("/up.notary"), ""))
	if _, err := e.v.ImportBundle(e.ctx, site.url("/up.notary"), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// gone's bundle names a location on a loopback port nothing listens on any more.
	dead := httptest.NewTLSServer(http.NotFoundHandler())
	deadURL := dead.URL + "/gone.notary"
	dead.Close()
	if _, err := e.v.ImportBundleBytes(e.ctx, publishedBundle(t, gone, "gone", deadURL, ""), "gone.notary", ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	site.serve("/up.notary", publishedBundle(t, up, "up", site.url("/up.notary"), "NL"))
	report, err := e.v.RefreshBundles(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res := resultFor(t, report, "gone"); res.Status != RefreshFailed || res.Err == nil || res.Location != deadURL {
		t.Errorf("gone: %+v, want a failure at %s", res, deadURL)
	}
	if res := resultFor(t, report, "up"); res.Status != RefreshUpdated {
		t.Errorf("up: %+v, want updated", res)
	}
}

// TestRefreshFromTheNotarysOwnCertificate: a notary that serves its bundle over its own
// self-signed certificate (as convergence-notary does) is refreshed, because the stored
// bundle pins that certificate; the same URL showing another self-signed certificate is
// refused with the fingerprint error, and the notary keeps what it had.
func TestRefreshFromTheNotarysOwnCertificate(t *testing.T) {
	e := newEnv(t, nil)
	site := startBundleSite(t) // its roots do not vouch for the server below
	e.start(Config{bundleRoots: site.roots})
	own := startNotary(t, "own", modeHonest, e.real, e.real.NotBefore)
	otherKey, otherCert := newKeyCert(t, "impostor")
	var body, shown atomic.Value
	shown.Store(&tls.Certificate{Certificate: [][]byte{own.cert.Raw}, PrivateKey: own.key, Leaf: own.cert})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body.Load().([]byte))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	// GetConfigForClient, not GetCertificate: StartTLS adds httptest's own certificate,
	// which site.roots trusts, and Go prefers it to GetCertificate when there is no SNI.
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{Certificates: []tls.Certificate{*shown.Load().(*tls.Certificate)}}, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	loc := srv.URL + "/own.notary"
	if _, err := e.v.ImportBundleBytes(e.ctx, publishedBundle(t, own, "own", loc, ""), loc, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	region := func() string {
		t.Helper()
		n, err := e.store.Notary(e.ctx, "own")
		if err != nil {
			t.Fatal(err)
		}
		return n.Region
	}

	body.Store(publishedBundle(t, own, "own", loc, "NL"))
	report, err := e.v.RefreshBundles(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res := resultFor(t, report, "own"); res.Status != RefreshUpdated {
		t.Fatalf("a bundle served over the notary's own pinned certificate: %+v, want updated", res)
	}
	if got := region(); got != "NL" {
		t.Errorf("region after the refresh %q, want NL", got)
	}

	// Another self-signed certificate on the same URL: refused, nothing changed.
	shown.Store(&tls.Certificate{Certificate: [][]byte{otherCert.Raw}, PrivateKey: otherKey, Leaf: otherCert})
	srv.CloseClientConnections()
	body.Store(publishedBundle(t, own, "own", loc, "XX"))
	report, err = e.v.RefreshBundles(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res := resultFor(t, report, "own"); res.Status != RefreshFailed || !errors.Is(res.Err, ErrBundleServerNotNotary) {
		t.Errorf("a bundle served over a certificate the notary does not pin: %+v, want the fingerprint error", res)
	}
	if got := region(); got != "NL" {
		t.Errorf("region after the refused refresh %q, want NL kept", got)
	}
}
