package loadrig

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// ServeProc is a real `convergence-notary serve` process on loopback, with a client
// that pins its certificate and knows its v2 key from the bundle it serves.
type ServeProc struct {
	Addr    string // host:port it listens on
	KeyType string
	cert    *x509.Certificate
	v2Key   crypto.PublicKey
	client  *http.Client
	cmd     *exec.Cmd
	waited  chan error
	logPath string
}

// StartServe starts bin serve with a fresh data dir and a key of keyType, allowed to
// probe 127.0.0.1:sitePort, without a rate limit (every load client is one address).
// Its log goes to a file (as to a journal, not to this process). It stops when the test
// ends.
func StartServe(tb testing.TB, bin, keyType string, sitePort int) (*ServeProc, error) {
	tb.Helper()
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	p := &ServeProc{KeyType: keyType, logPath: filepath.Join(dir, "notary.log"), waited: make(chan error, 1)}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, fmt.Errorf("failed to create notary log: %w", err)
	}
	defer logf.Close()
	p.cmd = exec.Command(bin, "serve", "--data", data, "--listen", "127.0.0.1:0", "--host", "127.0.0.1",
		"--name", "Bench notary", "--allow-target", "127.0.0.0/8", "--allow-port", strconv.Itoa(sitePort),
		"--rate", "0", "--key-type", keyType)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %q: %w", bin, err)
	}
	go func() { p.waited <- p.cmd.Wait() }() // ends when the process does
	tb.Cleanup(p.stop)
	if p.Addr, err = p.awaitListening(30 * time.Second); err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(filepath.Join(data, keys.CertFile))
	if err != nil {
		return nil, fmt.Errorf("failed to read the notary's certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, mustRead(filepath.Join(data, keys.KeyFile)))
	if err != nil {
		return nil, fmt.Errorf("failed to read the notary's certificate: %w", err)
	}
	p.cert = pair.Leaf
	pinned := p.cert
	p.client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin, as Convergence clients do
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !cs.PeerCertificates[0].Equal(pinned) {
				return x509.UnknownAuthorityError{}
			}
			return nil
		},
	}}}
	b, err := p.get(protocol.WellKnownBundlePath)
	if err != nil {
		return nil, err
	}
	bundle, err := protocol.ParseBundle(b)
	if err != nil {
		return nil, err
	}
	if p.v2Key, err = bundle.V2PublicKey(bundle.Hosts[0]); err != nil {
		return nil, err
	}
	return p, nil
}

func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// awaitListening reads the log until the "listening" line, the process's end or the
// deadline.
func (p *ServeProc) awaitListening(within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.waited:
			p.waited <- err
			return "", fmt.Errorf("notary --key-type %s ended before listening (%v): %s", p.KeyType, err, mustRead(p.logPath))
		case <-time.After(20 * time.Millisecond):
		}
		f, err := os.Open(p.logPath)
		if err != nil {
			return "", fmt.Errorf("failed to read notary log: %w", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Addr != "" {
				f.Close()
				return line.Addr, nil
			}
		}
		f.Close()
	}
	return "", fmt.Errorf("notary --key-type %s did not listen within %s: %s", p.KeyType, within, mustRead(p.logPath))
}

func (p *ServeProc) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.waited:
		p.waited <- err
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.waited
	}
}

// URL returns the notary's https URL for path.
func (p *ServeProc) URL(path string) string { return "https://" + p.Addr + path }

func (p *ServeProc) get(path string) ([]byte, error) {
	resp, err := p.client.Get(p.URL(path))
	if err != nil {
		return nil, fmt.Errorf("failed to get %q: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxV2AnswerSize))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to get %q: status %d, %v", path, resp.StatusCode, err)
	}
	return body, nil
}

func (p *ServeProc) post(path, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, p.URL(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("failed to build request for %q: %w", path, err)
	}
	req.Header.Set("Content-Type", ctype)
	if path == protocol.V2Path {
		req.Header.Set(protocol.V2BatchHeader, protocol.V2BatchMerkle) // as the verifier asks
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("failed to post to %q: %w", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxV2AnswerSize))
	return resp.StatusCode, out, err
}

// CheckV1 asks in v1 whether the site's certificate (SHA-1 fp1) is the one the notary
// sees and verifies the signed answer with the notary's certificate key.
func (p *ServeProc) CheckV1(host string, port int, fp1 string) error {
	code, body, err := p.post(protocol.V1Path(host, port), "application/x-www-form-urlencoded",
		[]byte(url.Values{"fingerprint": {fp1}}.Encode()))
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("v1 answer %d, want 200: %q", code, body)
	}
	a, err := protocol.VerifyV1(body, p.cert.PublicKey)
	if err != nil {
		return err
	}
	if !a.Has(fp1) {
		return fmt.Errorf("v1 answer lacks %q: %q", fp1, body)
	}
	return nil
}

// CheckV2 asks in v2 about the site's certificate (SHA-256 fp) and verifies the answer
// with the bundle's v2 key; it returns the signature's algorithm.
func (p *ServeProc) CheckV2(host string, port int, fp string) (string, error) {
	req, err := protocol.NewV2Request(host, port, fp)
	if err != nil {
		return "", err
	}
	raw, _ := req.Marshal()
	code, body, err := p.post(protocol.V2Path, "application/json", raw)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("v2 answer %d, want 200: %q", code, body)
	}
	a, err := protocol.VerifyV2(body, p.v2Key)
	if err != nil {
		return "", err
	}
	if err := a.Answers(req); err != nil {
		return "", err
	}
	if a.Status != protocol.StatusConfirmed {
		return "", fmt.Errorf("v2 status %q, want confirmed: %q", a.Status, body)
	}
	return a.Signature.Alg, nil
}

// errNoWrk is returned when wrk is not installed.
var errNoWrk = errors.New("wrk not found: install it with scripts/deps.sh bench (Debian package wrk)")

// MeanBatch reads the notary's /metrics and returns the v2 answers per batch signature
// so far (0 when it made none, as a build from before batch signatures).
func (p *ServeProc) MeanBatch() (float64, error) {
	resp, err := p.client.Get(p.URL("/metrics"))
	if err != nil {
		return 0, fmt.Errorf("failed to read metrics: %w", err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("failed to read metrics: %w", err)
	}
	var batches, answers float64
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, "convergence_notary_v2_batches_total "); ok {
			batches, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "convergence_notary_v2_batched_answers_total "); ok {
			answers, _ = strconv.ParseFloat(v, 64)
		}
	}
	if batches == 0 {
		return 0, nil
	}
	return answers / batches, nil
}
