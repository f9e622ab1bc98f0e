package settings

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Some tests re-execute this test binary as a child process: to be killed mid-write,
// or to talk to a private D-Bus (go-keyring caches its session bus connection per
// process). The child runs TestChildProcess only, with these variables set.
const (
	envChild    = "CONVERGENCE_SETTINGS_TEST_CHILD" // which child to be
	envChildDir = "CONVERGENCE_SETTINGS_TEST_DIR"   // the data dir it works in
)

// TestChildProcess is the child's entry point; in a normal run it does nothing.
func TestChildProcess(t *testing.T) {
	dir := os.Getenv(envChildDir)
	switch os.Getenv(envChild) {
	case "":
		t.Skip("only runs as a child process of another test")
	case "crash":
		runCrashChild(dir)
	case "opensecrets":
		runOpenSecretsChild(dir)
	default:
		t.Fatalf("unknown child %q", os.Getenv(envChild))
	}
}

// child starts this binary as the named child and returns it with its stdout lines.
// The context kills it at the latest when the test ends.
func child(t *testing.T, ctx context.Context, name, dir string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), envChild+"="+name, envChildDir+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() { // ends at EOF, when the child exits
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// waitLine waits for a line starting with prefix and returns it.
func waitLine(t *testing.T, ctx context.Context, lines <-chan string, prefix string) string {
	t.Helper()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-ctx.Done():
			t.Fatalf("child did not print %q: %v", prefix, ctx.Err())
		}
	}
}

// childFail reports a child's failure to the parent (on stderr) and exits.
func childFail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
	os.Exit(2)
}

// childWait keeps a child alive until its parent kills it, for at most a minute.
func childWait() {
	time.Sleep(time.Minute)
	os.Exit(3)
}
