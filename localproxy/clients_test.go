package localproxy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests drive the proxy with real client programs: curl and headless Chromium.
// They skip when the program is not installed.

func TestCurlThroughProxy(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	r := startProxy(t, nil)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, r.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, true)
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		base := []string{"-sS", "--max-time", "20", "--proxy", "http://" + r.addr, "--cacert", caFile, "-D", "-"}
		out, err := exec.CommandContext(ctx, curl, append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	out := run("--http2", "https://good.test:"+s.port()+"/")
	if !strings.Contains(out, "\nHTTP/2 200") || !strings.Contains(out, "hello from site") {
		t.Errorf("curl --http2 good site:\n%s", out)
	}
	out = run("--http1.1", "https://good.test:"+s.port()+"/")
	if !strings.Contains(out, "\nHTTP/1.1 200 OK") || !strings.Contains(out, "hello from site") {
		t.Errorf("curl --http1.1 good site:\n%s", out)
	}
	bad := newSite(t, true)
	out = run("--data", "secret=1", "https://bad.test:"+bad.port()+"/")
	if !strings.Contains(out, "\nHTTP/1.1 403") || !strings.Contains(strings.ToLower(out), "x-convergence-verdict: rejected") ||
		!strings.Contains(out, "convergence: rejected: bad.test:"+bad.port()) {
		t.Errorf("curl rejected site:\n%s", out)
	}
	if n, b := bad.received(); n != 0 || b != 0 {
		t.Errorf("rejected site received %d requests / %d body bytes; want nothing", n, b)
	}
}

func TestChromiumThroughProxy(t *testing.T) {
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium not installed")
	}
	if testing.Short() {
		t.Skip("slow: starts a browser")
	}
	r := startProxy(t, nil)
	s := newSite(t, true)
	spki := sha256.Sum256(r.ca.Certificate().RawSubjectPublicKeyInfo)
	load := func(url string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
			"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+t.TempDir(), "--proxy-server=http://"+r.addr,
			// Trust only the local CA, without touching a system store.
			"--ignore-certificate-errors-spki-list="+base64.StdEncoding.EncodeToString(spki[:]),
			"--dump-dom", url)
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %s: %v\n%s", url, err, out)
		}
		return string(out)
	}
	if dom := load("https://good.test:" + s.port() + "/"); !strings.Contains(dom, "hello from site") || !strings.Contains(dom, "HTTP/2") {
		t.Errorf("good site through Chromium, DOM:\n%s", dom)
	}
	bad := newSite(t, true)
	dom := load("https://bad.test:" + bad.port() + "/")
	if !strings.Contains(dom, `id="convergence-blocked"`) || !strings.Contains(dom, "notary-one") {
		t.Errorf("bad site through Chromium did not show the block page, DOM:\n%s", dom)
	}
	if n, _ := bad.received(); n != 0 {
		t.Errorf("rejected site received %d requests; want none", n)
	}
}
