package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// page is what a browsing client saw.
type page struct {
	status int // 0 when curl failed
	header http.Header
	body   string // or curl's error
}

var curlSeq int

// curl fetches url through the app's proxy with curl in the client's namespace, trusting
// only the app's local CA. A non-empty postBody makes it a POST (to prove a rejected
// request never reaches anyone).
func (a *app) curl(url, postBody string) page {
	a.l.t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		a.l.t.Skip("curl is not installed")
	}
	curlSeq++
	hdr := filepath.Join(a.l.dir, "curl-"+strconv.Itoa(curlSeq)+".headers")
	args := []string{"--silent", "--show-error", "--max-time", "60", "--proxy", "http://" + proxyAddr,
		"--cacert", a.caFile, "--dump-header", hdr, "--output", "-"}
	if postBody != "" {
		args = append(args, "--data", postBody)
	}
	out, errOut, err := a.l.runIn(a.ns, os.Environ(), 90*time.Second, "curl", append(args, url)...)
	if err != nil {
		a.l.t.Logf("curl %s: %v: %s", url, err, errOut)
		return page{header: http.Header{}, body: fmt.Sprintf("curl failed: %v: %s", err, errOut)}
	}
	raw, err := os.ReadFile(hdr)
	if err != nil {
		a.l.t.Fatalf("curl wrote no headers: %v", err)
	}
	return parseCurlHeaders(a.l.t, string(raw), out)
}

// parseCurlHeaders takes the last response's headers (after the proxy's CONNECT answer).
func parseCurlHeaders(t *testing.T, raw, body string) page {
	t.Helper()
	blocks := strings.Split(strings.TrimSpace(strings.ReplaceAll(raw, "\r\n", "\n")), "\n\n")
	last := strings.Split(blocks[len(blocks)-1], "\n")
	fields := strings.Fields(last[0])
	if len(fields) < 2 {
		t.Fatalf("bad status line %q", last[0])
	}
	code, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatalf("bad status line %q", last[0])
	}
	p := page{status: code, header: http.Header{}, body: body}
	for _, h := range last[1:] {
		if k, v, ok := strings.Cut(h, ":"); ok {
			p.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return p
}

const chromium = "/usr/bin/chromium"

// chromium loads url in headless Chromium through the app's proxy, trusting only the
// app's local CA, and returns the DOM.
func (a *app) chromium(url string) string {
	a.l.t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		a.l.t.Log("chromium is not installed: the browser check is left out")
		return ""
	}
	// Chromium keeps crash-reporter state under XDG_CONFIG_HOME whatever the profile
	// dir: give it a throw-away one so that nothing is left in the home directory.
	scratch := a.l.t.TempDir()
	env := append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(scratch, "config"), "XDG_CACHE_HOME="+filepath.Join(scratch, "cache"))
	out, errOut, err := a.l.runIn(a.ns, env, 90*time.Second, chromium, "--headless", "--no-sandbox",
		"--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-breakpad", "--user-data-dir="+filepath.Join(scratch, "profile"),
		"--proxy-server=http://"+proxyAddr, "--ignore-certificate-errors-spki-list="+a.spki,
		"--dump-dom", url)
	if err != nil {
		a.l.t.Fatalf("chromium %s: %v\n%s\n%s", url, err, out, tail(errOut, 2000))
	}
	return out
}

// goGet fetches url through the app's proxy with Go's HTTP client (labpeer get) in the
// client's namespace, trusting only the app's local CA, offering HTTP/2 or HTTP/1.1
// only. proto is what the response came over ("HTTP/2.0", "HTTP/1.1").
func (a *app) goGet(url string, h2 bool) (p page, proto string) {
	a.l.t.Helper()
	args := []string{"get", "--proxy", "http://" + proxyAddr, "--cacert", a.caFile}
	if h2 {
		args = append(args, "--h2")
	}
	out, errOut, err := a.l.runIn(a.ns, os.Environ(), 90*time.Second, bins.peer, append(args, url)...)
	if err != nil {
		a.l.t.Fatalf("labpeer get %s: %v\n%s", url, err, errOut)
	}
	first, body, _ := strings.Cut(out, "\n")
	code, proto, _ := strings.Cut(first, " ")
	p.status, _ = strconv.Atoi(code)
	p.body = body
	return p, proto
}
