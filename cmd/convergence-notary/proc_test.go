package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testpg"
	"github.com/convergence-ng/convergence/notary/protocol"
)

var pg testpg.Server

func TestMain(m *testing.M) {
	code := pg.Run(m)
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

var built struct {
	once sync.Once
	bin  string
	dir  string
	err  error
	out  []byte
}

// sharedBinary builds the binary once for the package's tests.
func sharedBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "notary-bin-"); built.err != nil {
			return
		}
		built.bin = built.dir + "/convergence-notary"
		cmd := exec.Command("go", "build", "-o", built.bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

// proc is a running convergence-notary serve.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex // protects logs
	logs []string
	seen chan string // every log message, for waitLog
	done chan struct{}
}

// startNotary runs bin serve args and waits until it listens (bounded at 60 s).
func startNotary(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, seen: make(chan string, 1000), done: make(chan struct{})}
	go func() { // ends when the process closes stderr (it exits)
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs = append(p.logs, sc.Text())
			p.mu.Unlock()
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				msg, _ := rec["msg"].(string)
				if msg == "listening" {
					msg += " " + rec["addr"].(string)
				}
				select {
				case p.seen <- msg:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
			_ = cmd.Wait()
		}
	})
	addr := p.waitLog("listening ")
	p.addr = strings.TrimPrefix(addr, "listening ")
	return p
}

// waitLog waits for a log message starting with prefix and returns it.
func (p *proc) waitLog(prefix string) string {
	p.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m := <-p.seen:
			if strings.HasPrefix(m, prefix) {
				return m
			}
		case <-p.done:
			p.t.Fatalf("notary exited waiting for %q:\n%s", prefix, p.allLogs())
		case <-timeout:
			p.t.Fatalf("no %q from the notary in 60 s:\n%s", prefix, p.allLogs())
		}
	}
}

func (p *proc) allLogs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

// kill ends the process at once (SIGKILL) and waits for it.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	<-p.done
	_ = p.cmd.Wait()
}

// stop ends the process with SIGTERM and checks it exits cleanly.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("exit after SIGTERM: %v\n%s", err, p.allLogs())
	}
}

// pinnedTo returns a client that trusts exactly cert, as Convergence clients do.
func pinnedTo(cert *x509.Certificate) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !cs.PeerCertificates[0].Equal(cert) {
				return x509.UnknownAuthorityError{}
			}
			return nil
		}}}}
}

// askV2 asks the notary at addr about 127.0.0.1:port and sha256, and verifies the answer
// with pub (the v2 key of the pinned bundle). It returns the HTTP status and the status
// in the answer ("" when the code is not 200), or the transport error.
func askV2(ctx context.Context, client *http.Client, addr string, port int, sha256 string, pub any) (int, protocol.Status, error) {
	req, err := protocol.NewV2Request("127.0.0.1", port, sha256)
	if err != nil {
		return 0, "", err
	}
	body, _ := req.Marshal()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+protocol.V2Path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp.StatusCode, "", err
	}
	a, err := protocol.VerifyV2(raw, pub)
	if err != nil {
		return resp.StatusCode, "", err
	}
	if err := a.Answers(req); err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, a.Status, nil
}
