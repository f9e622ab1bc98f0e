// Package archtest keeps the architecture: only the UI may depend on Fyne, and the notary
// builds without cgo so that any organisation can run it from one static binary.
package archtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const module = "github.com/convergence-ng/convergence"

// fyneAllowed lists the packages that may import Fyne: the UI, its assets and main.
var fyneAllowed = map[string]bool{
	module:             true,
	module + "/ui":     true,
	module + "/assets": true,
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repo root not found at %s: %v", dir, err)
	}
	return dir
}

func goCmd(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestOnlyUIDependsOnFyne(t *testing.T) {
	out := goCmd(t, nil, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...")
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, deps := fields[0], fields[1:]
		checked++
		if fyneAllowed[pkg] || strings.HasPrefix(pkg, module+"/ui/") || strings.HasPrefix(pkg, module+"/assets/") {
			continue
		}
		for _, d := range deps {
			if strings.HasPrefix(d, "fyne.io") { // fyne.io/fyne/v2, fyne.io/systray, ...
				t.Errorf("%s depends on %s: only ui/, assets/ and main may use Fyne; report through callbacks or channels instead", pkg, d)
				break
			}
		}
	}
	if checked < 3 {
		t.Fatalf("go list returned %d packages; expected the whole module", checked)
	}
}

func TestNotaryBuildsWithoutCgo(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "cmd", "convergence-notary")); err != nil {
		t.Fatalf("cmd/convergence-notary is missing: %v", err)
	}
	goCmd(t, []string{"CGO_ENABLED=0"}, "build", "./notary/...", "./cmd/convergence-notary")
}
