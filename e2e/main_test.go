package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bins are the real binaries under test, built once by TestMain.
var bins struct {
	app, notary, peer string
}

// labSkip is why the scenarios cannot run here ("" when they can).
var labSkip string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-bin-", nsPrefix, os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if labSkip = labUnavailable(); labSkip != "" {
		return m.Run() // every scenario skips with the reason; the desktop tests run
	}
	removeLeftovers()
	createdNetnsDir := false
	if _, err := os.Stat(netnsDir); os.IsNotExist(err) {
		createdNetnsDir = true
	}
	code := m.Run()
	if createdNetnsDir {
		_ = os.Remove(netnsDir) // only if empty
	}
	return code
}

// buildAll builds the app (cgo), the notary (CGO_ENABLED=0) and the lab's peers.
func buildAll(dir string) error {
	bins.app = filepath.Join(dir, "convergence")
	bins.notary = filepath.Join(dir, "convergence-notary")
	bins.peer = filepath.Join(dir, "labpeer")
	for _, b := range []struct {
		out, pkg string
		cgo      string
	}{
		{bins.app, "github.com/convergence-ng/convergence", "1"},
		{bins.notary, "github.com/convergence-ng/convergence/cmd/convergence-notary", "0"},
		{bins.peer, "github.com/convergence-ng/convergence/e2e/internal/labpeer", "0"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("failed to build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// requireLab skips the test when namespaces cannot be used.
func requireLab(t *testing.T) {
	t.Helper()
	if labSkip != "" {
		t.Skip(labSkip)
	}
}
