package instance

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// needBus skips without a session bus; make test runs the tests in a private one
// (scripts/with-session.sh), so the names claimed here are the test's own.
func needBus(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus: run under dbus-run-session (make test does)")
	}
}

// TestSecondStartActivatesTheFirst: the first claim wins, a second on the same data dir
// gets ErrRunning, and its Activate reaches the first's handler.
func TestSecondStartActivatesTheFirst(t *testing.T) {
	needBus(t)
	dir := t.TempDir()
	first, err := Claim(dir)
	if err != nil {
		t.Fatalf("first claim: %v", err)
	}
	defer first.Close()

	// Before OnActivate (the window is not built yet), an Activate is answered.
	if err := Activate(context.Background(), dir); err != nil {
		t.Fatalf("Activate before OnActivate: %v", err)
	}
	shown := make(chan struct{}, 4)
	first.OnActivate(func() { shown <- struct{}{} })

	if _, err := Claim(dir); !errors.Is(err, ErrRunning) {
		t.Fatalf("second claim on the same dir: %v; want ErrRunning", err)
	}
	if err := Activate(context.Background(), dir); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	select {
	case <-shown:
	case <-time.After(10 * time.Second):
		t.Fatal("the first instance's handler did not run within 10 s")
	}

	// Another data dir is another instance.
	other, err := Claim(t.TempDir())
	if err != nil {
		t.Fatalf("claim on another dir: %v", err)
	}
	other.Close()
}

// TestNameIsFreedAtClose: once the first instance ends, a new start claims the name, and
// asking a dir nobody runs on fails with an error that says what was asked.
func TestNameIsFreedAtClose(t *testing.T) {
	needBus(t)
	dir := t.TempDir()
	first, err := Claim(dir)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	second, err := Claim(dir)
	if err != nil {
		t.Fatalf("claim after the first closed: %v", err)
	}
	second.Close()

	err = Activate(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "failed to ask the running Convergence") {
		t.Fatalf("Activate with nobody running: %v", err)
	}
}

// TestNoBusNoGuard: without a session bus address Claim and Activate refuse at once
// rather than start a bus of their own.
func TestNoBusNoGuard(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	if _, err := Claim(t.TempDir()); !errors.Is(err, errNoBus) {
		t.Fatalf("Claim without a bus: %v; want errNoBus", err)
	}
	if err := Activate(context.Background(), t.TempDir()); !errors.Is(err, errNoBus) {
		t.Fatalf("Activate without a bus: %v; want errNoBus", err)
	}
}

func TestNamePerDataDir(t *testing.T) {
	a, b := Name("/home/u/.local/share/convergence"), Name("/tmp/other")
	if a == b || !strings.HasPrefix(a, baseName+".dir_") {
		t.Fatalf("names %q and %q", a, b)
	}
	if Name("/tmp/other/") != b {
		t.Errorf("a trailing slash changed the name")
	}
}
