package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/server"
)

// startSite runs a real TLS site on 127.0.0.1 with one self-signed certificate.
func startSite(t *testing.T) (port int, der []byte) {
	t.Helper()
	cert := testcerts.SelfSigned(t, "127.0.0.1")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port, cert.Cert.Raw
}

// TestBinaryEndToEnd builds and runs the real binary as a process and asks it in v1 and
// v2 about a real TLS site on loopback.
func TestBinaryEndToEnd(t *testing.T) {
	bin := sharedBinary(t)
	port, siteDER := startSite(t)
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--data", data, "--host", "127.0.0.1",
		"--name", "E2E Notary", "--allow-target", "127.0.0.0/8", "--allow-target", "::1/128", "--allow-port", strconv.Itoa(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var logs []string
	addr := ""
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("notary exited early: %v", logs)
			}
			logs = append(logs, l)
			var rec map[string]any
			if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "listening" {
				addr, _ = rec["addr"].(string)
			}
		case <-ctx.Done():
			t.Fatalf("notary did not start: %v", logs)
		}
	}
	if st, err := os.Stat(filepath.Join(data, "notary-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}

	// Fetch the bundle without trusting anything, then pin its certificate (what a
	// user does after comparing fingerprints).
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := insecure.Get("https://" + addr + protocol.WellKnownBundlePath)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	bundle, err := protocol.ParseBundle(raw)
	if err != nil || bundle.Name != "E2E Notary" {
		t.Fatalf("bundle: %v %s", err, raw)
	}
	pinned := bundle.Hosts[0].Certificate
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !cs.PeerCertificates[0].Equal(pinned) {
				return x509.UnknownAuthorityError{}
			}
			return nil
		}}}}

	post := func(fp string) (int, []byte) {
		resp, err := client.PostForm("https://"+addr+protocol.V1Path("127.0.0.1", port), url.Values{"fingerprint": {fp}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := post(protocol.SHA1Fingerprint(siteDER))
	if code != http.StatusOK {
		t.Fatalf("v1 POST: %d %s", code, body)
	}
	if a, err := protocol.VerifyV1(body, pinned.PublicKey); err != nil || !a.Has(protocol.SHA1Fingerprint(siteDER)) {
		t.Fatalf("v1 answer: %v %s", err, body)
	}
	if code, _ := post(protocol.SHA1Fingerprint([]byte("other"))); code != http.StatusConflict {
		t.Fatalf("v1 other fingerprint: %d", code)
	}
	req, _ := protocol.NewV2Request("127.0.0.1", port, protocol.SHA256Fingerprint(siteDER))
	reqBody, _ := req.Marshal()
	resp, err = client.Post("https://"+addr+protocol.V2Path, "application/json", bytes.NewReader(reqBody))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	pub, _ := bundle.V2PublicKey(bundle.Hosts[0])
	a2, err := protocol.VerifyV2(raw, pub)
	if err != nil || a2.Answers(req) != nil || a2.Status != protocol.StatusConfirmed {
		t.Fatalf("v2: %v %s", err, raw)
	}

	// Graceful stop on SIGTERM, exit status 0, and no client address in the logs.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		logs = append(logs, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, strings.Join(logs, "\n"))
	}
	all := strings.Join(logs, "\n")
	if !strings.Contains(all, "notary stopped") || strings.Contains(all, `"client"`) {
		t.Fatalf("logs:\n%s", all)
	}
}

func TestBinaryUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"serve", "--allow-target", "nonsense"}, {"serve", "--decide", "astrology"},
		{"serve", "--allow-port", "70000"}, {"bundle", "--name", "X"}, {"serve", "--key-type", "dsa"},
		{"serve", "--public-port", "70000"}, {"serve", "--trusted-proxy", "nonsense"}, {"serve", "--metrics-from", "10.0.0.0/99"},
		{"serve", "--store", "mysql://u:secret@h/db"}, {"serve", "--probe-lease", "0s"}, {"keygen"}, {"keygen", "--key-dir", "x", "--key-type", "dsa"},
		// A fleet member without the fleet's key never makes one of its own.
		{"serve", "--store", "postgres://u@127.0.0.1:1/db", "--key-dir", "/nonexistent/key"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		if code != 2 || !strings.HasPrefix(errb.String(), "convergence-notary: error: ") || !strings.Contains(errb.String(), "\nhint: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
		if strings.Contains(errb.String(), "secret") {
			t.Errorf("%v: the error shows the store's password: %q", args, errb.String())
		}
	}
}

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notary.conf")
	conf := "# a notary\nlisten = 127.0.0.1:8443\nallow-target = 10.20.0.0/16\nallow-target = 127.0.0.0/8\nallow-port = 9000-9002\nfreshness = 30m\nname = \"From File\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseServe([]string{"--config", path, "--name", "From Flags"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen[0] != "127.0.0.1:8443" || len(c.allowTargets) != 2 || len(c.allowPorts) != 3 || c.window != 30*time.Minute || c.name != "From Flags" {
		t.Fatalf("config: %+v", c)
	}
	if err := os.WriteFile(path, []byte("colour = blue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseServe([]string{"--config", path}, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown setting") {
		t.Fatalf("unknown setting: %v", err)
	}
}

// TestPublicPort: the served bundle names the port clients reach, which differs from
// the listen port behind port forwarding.
func TestPublicPort(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--listen", "127.0.0.1:8443"}, 8443},
		{[]string{"--listen", "127.0.0.1:8443", "--public-port", "443"}, 443},
		{nil, 443},
	} {
		c, err := parseServe(tc.args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := c.bundlePort(); got != tc.want {
			t.Errorf("%v: bundle port %d, want %d", tc.args, got, tc.want)
		}
	}
}

// TestChecksFlagsFollowTheRegistry: --checks and --decide, their defaults and their
// validation come from the notary's list of checks (server.Checks), so a new check is
// one entry there.
func TestChecksFlagsFollowTheRegistry(t *testing.T) {
	c, err := parseServe([]string{"--data", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range server.Checks() {
		if info.ByDefault != slices.Contains(c.checks, info.Name) {
			t.Errorf("check %q: run by default = %v, want %v", info.Name, slices.Contains(c.checks, info.Name), info.ByDefault)
		}
		if info.Decides != slices.Contains(c.decide, info.Name) {
			t.Errorf("check %q: decides by default = %v, want %v", info.Name, slices.Contains(c.decide, info.Name), info.Decides)
		}
		if _, err := parseServe([]string{"--data", t.TempDir(), "--checks", info.Name}, io.Discard); err != nil {
			t.Errorf("--checks %s refused: %v", info.Name, err)
		}
	}
	_, err = parseServe([]string{"--data", t.TempDir(), "--decide", "astrology"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"astrology"`) {
		t.Fatalf("--decide astrology: %v; want it refused by name", err)
	}
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(ue.hint, strings.Join(checkNames(nil), ", ")) {
		t.Errorf("the error %v does not come with a hint listing the checks", err)
	}
}

// TestMaxConnsPerClientFlag: the per-client share defaults to 64, and must lie between 1
// and --max-conns (a larger share would be no share at all).
func TestMaxConnsPerClientFlag(t *testing.T) {
	c, err := parseServe(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.maxConnsClient != 64 || c.maxConns != 1024 {
		t.Errorf("defaults: %d per client of %d, want 64 of 1024", c.maxConnsClient, c.maxConns)
	}
	if c, err = parseServe([]string{"--max-conns", "128", "--max-conns-per-client", "32"}, io.Discard); err != nil || c.maxConnsClient != 32 {
		t.Errorf("--max-conns-per-client 32: %d, %v", c.maxConnsClient, err)
	}
	for _, args := range [][]string{{"--max-conns-per-client", "0"}, {"--max-conns", "16", "--max-conns-per-client", "17"}} {
		_, err := parseServe(args, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(ue.hint, "between 1 and --max-conns") {
			t.Errorf("%v: %v, want a usage error with the range", args, err)
		}
	}
}
