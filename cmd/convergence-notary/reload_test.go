package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// SIGHUP to the real binary reloads the key (new handshakes and answers use the new
// one) and the allow lists from the config file; a reload that fails (a key missing)
// keeps what was loaded and the notary serves on.
func TestReloadOnSIGHUP(t *testing.T) {
	bin := sharedBinary(t)
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	fp := protocol.SHA256Fingerprint(cert.Certificate[0])
	dir := t.TempDir()
	data, conf := filepath.Join(dir, "data"), filepath.Join(dir, "notary.conf")
	writeConf := func(port int) {
		t.Helper()
		if err := os.WriteFile(conf, []byte("allow-target = 127.0.0.0/8\nallow-port = "+strconv.Itoa(port)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(int(testtarget.DeadPort(t).Port())) // not the site's port
	p := startNotary(t, bin, nil, "--config", conf, "--data", data, "--host", "127.0.0.1", "--rate", "0")
	old, err := keys.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(id *keys.Identity) (int, protocol.Status, error) {
		return askV2(context.Background(), pinnedTo(id.Cert), p.addr, site.Port(), fp, id.V2Signer.Public())
	}
	if code, _, err := ask(old); err != nil || code != http.StatusForbidden {
		t.Fatalf("before the reload, the site's port is not allowed: %d %v", code, err)
	}

	// A new key in place of the old, and the site's port allowed.
	fresh, err := keys.LoadOrCreate(filepath.Join(dir, "new"), keys.KeyECDSA, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{keys.KeyFile, keys.CertFile} {
		b, err := os.ReadFile(filepath.Join(dir, "new", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(site.Port())
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog("reloaded")
	if _, _, err := ask(old); err == nil {
		t.Fatal("after the reload the notary still shows the old certificate")
	}
	if code, st, err := ask(fresh); err != nil || code != http.StatusOK || st != protocol.StatusConfirmed {
		t.Fatalf("after the reload, with the new key and the port allowed: %d %s %v", code, st, err)
	}
	// v1 answers are signed once per history and kept (notary/server): one asked before
	// the next reload must not be served, signed by the old key, after it.
	sha1 := protocol.SHA1Fingerprint(cert.Certificate[0])
	if err := askV1(pinnedTo(fresh.Cert), p.addr, site.Port(), sha1, fresh); err != nil {
		t.Fatalf("v1 with the new key: %v", err)
	}
	third, err := keys.LoadOrCreate(filepath.Join(dir, "third"), keys.KeyECDSA, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{keys.KeyFile, keys.CertFile} {
		b, err := os.ReadFile(filepath.Join(dir, "third", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog("reloaded")
	if err := askV1(pinnedTo(third.Cert), p.addr, site.Port(), sha1, third); err != nil {
		t.Fatalf("v1 after a second reload (a body cached under the old key?): %v", err)
	}
	fresh = third

	// A reload that cannot load the key changes nothing.
	if err := os.Remove(filepath.Join(data, keys.KeyFile)); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog("reload failed")
	if code, st, err := ask(fresh); err != nil || code != http.StatusOK || st != protocol.StatusConfirmed {
		t.Fatalf("after a failed reload: %d %s %v", code, st, err)
	}
	p.stop()
}

// askV1 asks the notary at addr, the 2011 way (a form POST), about 127.0.0.1:port with
// the SHA-1 fingerprint fp, and checks that the answer is signed by id's key and lists fp.
func askV1(client *http.Client, addr string, port int, fp string, id *keys.Identity) error {
	resp, err := client.PostForm("https://"+addr+protocol.V1Path("127.0.0.1", port), url.Values{"fingerprint": {fp}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	a, err := protocol.VerifyV1(body, id.Cert.PublicKey)
	if err != nil {
		return err
	}
	if !a.Has(fp) {
		return fmt.Errorf("the answer does not list %s: %s", fp, body)
	}
	return nil
}
