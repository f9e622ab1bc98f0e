package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logBuffer collects a process's output. Safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
	f   *os.File // a copy on disk, for reading after a failure
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f != nil {
		_, _ = b.f.Write(p)
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a real binary running inside a namespace.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{} // closed when the process has exited
	err  error         // set before done is closed
}

// startIn runs bin with args inside ns (`ip netns exec`, which also gives it the
// namespace's /etc/netns files). The process is stopped when the test ends; its output
// is shown if the test failed.
func (l *lab) startIn(ns, name string, env []string, bin string, args ...string) *proc {
	l.t.Helper()
	f, err := os.Create(filepath.Join(l.dir, name+".log"))
	if err != nil {
		l.t.Fatalf("failed to create log: %v", err)
	}
	p := &proc{name: name, out: &logBuffer{f: f}, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = env
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("failed to start %s: %v", name, err)
	}
	go func() { // ends when the process exits (stop kills it at the latest)
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	l.t.Cleanup(func() {
		p.stop()
		if l.t.Failed() {
			l.t.Logf("--- output of %s ---\n%s", name, tail(p.out.String(), 4000))
		}
	})
	return p
}

// stop sends SIGTERM, then SIGKILL after 3 s, and waits for the exit.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitFor waits until the output matches re at least n times and returns the matches.
func (p *proc) waitFor(t *testing.T, re *regexp.Regexp, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := re.FindAllString(p.out.String(), -1)
		if len(got) >= n {
			return got
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %q %d times; output:\n%s", p.name, p.err, re, n, tail(p.out.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q %d times within %s (got %d); output:\n%s", p.name, re, n, timeout, len(got), tail(p.out.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runIn runs a short command inside ns (killed after timeout) and returns its stdout,
// its stderr and how it ended.
func (l *lab) runIn(ns string, env []string, timeout time.Duration, bin string, args ...string) (string, string, error) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// countLines counts the lines of s that contain every one of parts.
func countLines(s string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			n++
		}
	}
	return n
}
