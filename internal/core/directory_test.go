package core

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// dirServer serves one directory file at /directory over real HTTP on loopback; the
// test swaps the file and stops the server.
type dirServer struct {
	mu   sync.Mutex // protects file
	file []byte
	srv  *httptest.Server
}

func startDirServer(t *testing.T) *dirServer {
	d := &dirServer{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		w.Write(d.file)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *dirServer) set(file []byte) { d.mu.Lock(); d.file = file; d.mu.Unlock() }
func (d *dirServer) url() string     { return d.srv.URL + "/directory" }

// labEntry is a real notary identity's entry (keys in its own temp dir), at host.
func labEntry(t *testing.T, name, operator, country, network, host string) directory.Entry {
	t.Helper()
	id, err := keys.LoadOrCreate(t.TempDir(), keys.KeyECDSA, []string{host})
	if err != nil {
		t.Fatal(err)
	}
	b, err := id.Bundle(keys.BundleOptions{Name: name, Hosts: []string{host}, SSLPort: 8443})
	if err != nil {
		t.Fatal(err)
	}
	return entryOf(t, b.Name, operator, country, network, b)
}

func entryOf(t *testing.T, _, operator, country, network string, b protocol.Bundle) directory.Entry {
	t.Helper()
	raw, err := protocol.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	e, err := directory.ParseEntry(fmt.Appendf(nil, `{"operator":%q,"country":%q,"network":%q,"contact":"mailto:ops@example.org","protocols":[1,2],"listed":"2026-11-01","bundle":%s}`,
		operator, country, network, raw))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func signDir(t *testing.T, priv ed25519.PrivateKey, issued time.Time, entries ...directory.Entry) []byte {
	t.Helper()
	body, err := directory.MarshalBody(directory.Directory{Name: "Lab", Issued: issued, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	file, err := directory.Sign(body, priv)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// TestDirectoryLifecycle fetches a signed directory of five notaries over real HTTP,
// chooses three independent ones and adds them; then a tampered copy, an older copy
// and the server down each leave the copy held in use; the warnings name the notaries
// that share something.
func TestDirectoryLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dataDir := t.TempDir()
	c, err := Open(ctx, Options{DataDir: dataDir, NoCA: true, Secrets: settings.NewMemorySecrets()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	pubRaw, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := directory.PublicKey(pubRaw)
	srv := startDirServer(t)
	entries := []directory.Entry{
		labEntry(t, "Alpha", "Alpha e.V.", "DE", "AS1", "10.1.0.1"),
		labEntry(t, "Beta", "Beta Ltd", "DE", "AS1", "10.1.0.2"),
		labEntry(t, "Gamma", "Gamma Inc", "US", "AS2", "10.2.0.1"),
		labEntry(t, "Delta", "Delta SA", "FR", "AS3", "10.3.0.1"),
		labEntry(t, "Epsilon", "Eps BV", "NL", "AS1", "10.1.0.3"),
	}
	issued := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	good := signDir(t, priv, issued, entries...)
	srv.set(good)

	if _, err := c.ChooseNotaries(ctx, 3); !errors.Is(err, ErrNoDirectories) {
		t.Fatalf("choose with nothing configured: %v, want ErrNoDirectories", err)
	}
	if _, err := c.UpdateSettings(ctx, func(s *settings.Settings) error {
		s.DirectoryURLs, s.DirectoryKeys = []string{srv.url()}, []string{pub.String()}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// No copy held: choosing fetches first.
	picks, err := c.ChooseNotaries(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range picks {
		names = append(names, p.Name())
		if p.Reason == "" || p.URL != srv.url() {
			t.Errorf("pick %+v", p)
		}
	}
	// All listed the same day, so by name: Alpha, then Delta and Gamma, which share
	// nothing with it, where Beta and Epsilon are on AS1 like Alpha.
	if got := strings.Join(names, ","); got != "Alpha,Delta,Gamma" {
		t.Fatalf("picked %s", got)
	}
	path := c.directoryPath(srv.url())
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("copy held: %v %v", st, err)
	}
	for _, p := range picks {
		if _, err := c.AddDirectoryNotary(ctx, p.DirectoryEntry); err != nil {
			t.Fatal(err)
		}
	}
	if ov, err := c.DiversityWarnings(ctx); err != nil || len(ov) != 0 {
		t.Fatalf("three independent picks: warnings %v %v", ov, err)
	}
	// Adding Beta (AS1, like Alpha) is warned about.
	beta, _ := directoryEntryNamed(t, c, "Beta")
	if _, err := c.AddDirectoryNotary(ctx, beta); err != nil {
		t.Fatal(err)
	}
	ov, err := c.DiversityWarnings(ctx)
	if err != nil || len(ov) != 1 || ov[0].A != "Alpha" || ov[0].B != "Beta" || !strings.Contains(ov[0].Warning(), "network AS1") {
		t.Fatalf("warnings after Beta: %v %v", ov, err)
	}

	// A tampered copy is refused with the reason, and the good one stays.
	srv.set([]byte(strings.Replace(string(good), `"AS2"`, `"AS1"`, 1)))
	results, err := c.RefreshDirectories(ctx)
	if err != nil || len(results) != 1 || !errors.Is(results[0].Err, directory.ErrBadSignature) || !results[0].Copy.Held {
		t.Fatalf("tampered: %+v %v", results, err)
	}
	if held, _ := os.ReadFile(path); string(held) != string(good) {
		t.Fatal("the tampered copy replaced the good one")
	}
	// An older copy, well signed, is a replay: refused.
	srv.set(signDir(t, priv, issued.Add(-time.Hour), entries[:2]...))
	if results, _ := c.RefreshDirectories(ctx); !errors.Is(results[0].Err, directory.ErrOlder) {
		t.Fatalf("older: %+v", results)
	}
	// The server down: the copy held is used.
	srv.srv.Close()
	results, err = c.RefreshDirectories(ctx)
	if err != nil || results[0].Err == nil || !results[0].Copy.Held || len(results[0].Copy.Directory.Entries) != 5 {
		t.Fatalf("server down: %+v %v", results, err)
	}
	if es, err := c.DirectoryEntries(ctx); err != nil || len(es) != 5 {
		t.Fatalf("entries with the server down: %d %v", len(es), err)
	}
	// Another key set: the copy held no longer verifies, and is not used.
	other, _, _ := directory.GenerateKey()
	if _, err := c.UpdateSettings(ctx, func(s *settings.Settings) error { s.DirectoryKeys = []string{other.String()}; return nil }); err != nil {
		t.Fatal(err)
	}
	copies, err := c.Directories(ctx)
	if err != nil || copies[0].Held || !errors.Is(copies[0].Err, directory.ErrBadSignature) {
		t.Fatalf("copy under another key: %+v %v", copies, err)
	}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
}

func directoryEntryNamed(t *testing.T, c *Core, name string) (DirectoryEntry, bool) {
	t.Helper()
	es, err := c.DirectoryEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Name() == name {
			return e, true
		}
	}
	t.Fatalf("%s not in the directory", name)
	return DirectoryEntry{}, false
}

// TestDirectoryNeverReplacesKeys: a directory listing a notary under the name of one
// trusted with another key does not replace it.
func TestDirectoryNeverReplacesKeys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{DataDir: t.TempDir(), NoCA: true, Secrets: settings.NewMemorySecrets()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	trusted := labEntry(t, "Alpha", "A", "DE", "AS1", "10.1.0.1")
	if _, err := c.ImportBundle(ctx, trusted.BundleJSON, "alpha.notary", false); err != nil {
		t.Fatal(err)
	}
	impostor := labEntry(t, "Alpha", "A", "DE", "AS1", "10.1.0.1") // same name and host, another key
	if _, err := c.AddDirectoryNotary(ctx, DirectoryEntry{Entry: impostor, URL: "https://dir.example/"}); !errors.Is(err, ErrOtherKeys) {
		t.Fatalf("AddDirectoryNotary over another key: %v, want ErrOtherKeys", err)
	}
	n, err := c.Store.Notary(ctx, "Alpha")
	if err != nil || n.Hosts[0].CertificatePEM != trusted.Bundle.Hosts[0].CertificatePEM {
		t.Fatalf("the trusted notary changed: %v", err)
	}
	if _, err := c.AddDirectoryNotary(ctx, DirectoryEntry{Entry: trusted, URL: "https://dir.example/"}); err != nil {
		t.Fatalf("the same bundle from a directory: %v", err)
	}
}
