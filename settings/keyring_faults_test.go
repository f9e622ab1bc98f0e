package settings

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// The keyring going away while the app runs: through the package's seam, and with
// the real gnome-keyring-daemon killed under a child process.

// vanishingKeyring is the OS keyring going away and coming back while the app runs
// (the gnome-keyring daemon dies, the session bus restarts). It stands in for
// go-keyring through the package's seam; TestOpenSecretsRealGnomeKeyring covers the
// real daemon. The error is the one go-keyring gives when no Secret Service answers.
type vanishingKeyring struct {
	*memKeyring
	mu   sync.Mutex // protects gone
	gone bool
}

var errNoSecretService = errors.New("the name org.freedesktop.secrets was not provided by any .service files")

func (k *vanishingKeyring) setGone(g bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gone = g
}

func (k *vanishingKeyring) isGone() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gone
}

func (k *vanishingKeyring) Set(service, user, password string) error {
	if k.isGone() {
		return errNoSecretService
	}
	return k.memKeyring.Set(service, user, password)
}

func (k *vanishingKeyring) Get(service, user string) (string, error) {
	if k.isGone() {
		return "", errNoSecretService
	}
	return k.memKeyring.Get(service, user)
}

func (k *vanishingKeyring) Delete(service, user string) error {
	if k.isGone() {
		return errNoSecretService
	}
	return k.memKeyring.Delete(service, user)
}

// TestKeyringVanishesWhileRunning: a secret stored while the keyring worked cannot be
// read while it is gone, and the failure is not ErrSecretNotFound (callers such as
// the local CA would otherwise mint a new key and lose the trusted one). Nothing
// leaks into the fallback files meanwhile, and the secret is back, unchanged, when the
// keyring returns.
func TestKeyringVanishesWhileRunning(t *testing.T) {
	dir := t.TempDir()
	kr := &vanishingKeyring{memKeyring: newMemKeyring()}
	s, fb := openSecrets(dir, kr, time.Second)
	if fb != nil {
		t.Fatalf("fallback with a working keyring: %+v", fb)
	}
	want := []byte("the CA key")
	if err := s.Set("ca-key", want); err != nil {
		t.Fatal(err)
	}
	kr.setGone(true)
	if _, err := s.Get("ca-key"); err == nil || errors.Is(err, ErrSecretNotFound) {
		t.Errorf("Get with the keyring gone: %v; want an error other than ErrSecretNotFound", err)
	}
	if err := s.Set("ca-key", []byte("a new key")); err == nil {
		t.Error("Set with the keyring gone succeeded")
	}
	if err := s.Delete("ca-key"); err == nil {
		t.Error("Delete with the keyring gone succeeded")
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "secrets")); err == nil && len(entries) > 0 {
		t.Errorf("secrets were written to files while the keyring was gone: %v", entries)
	}
	kr.setGone(false)
	got, err := s.Get("ca-key")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Get once the keyring is back: %q, %v; want the stored key", got, err)
	}
}

// keyringGoneReport is what the keyringgone child prints after the daemon is gone.
type keyringGoneReport struct {
	GetErr      string
	GetNotFound bool // Get's error was ErrSecretNotFound
	SetErr      string
}

// runKeyringGoneChild stores a secret through the real OpenSecrets (real go-keyring on
// the bus in DBUS_SESSION_BUS_ADDRESS), tells the parent, waits for a line on stdin
// (the parent has killed the daemon), then reads and writes again and reports.
func runKeyringGoneChild(dir string) {
	s, fb := OpenSecrets(dir)
	if fb != nil {
		childFail("keyring not used: %v", fb.Err)
	}
	if err := s.Set("ca-key", []byte("child key")); err != nil {
		childFail("set: %v", err)
	}
	fmt.Println("STORED")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		childFail("read stdin: %v", err)
	}
	var r keyringGoneReport
	if _, err := s.Get("ca-key"); err != nil {
		r.GetErr, r.GetNotFound = err.Error(), errors.Is(err, ErrSecretNotFound)
	}
	if err := s.Set("ca-key", []byte("another key")); err != nil {
		r.SetErr = err.Error()
	}
	b, _ := json.Marshal(r)
	fmt.Println("REPORT " + string(b))
	os.Exit(0)
}

// TestKeyringDaemonKilledWhileRunning runs the real go-keyring against a real
// gnome-keyring-daemon on a private bus, in a child process (go-keyring keeps its bus
// connection per process): a secret is stored, the daemon is killed, and the child's
// next read must fail with an error that is not ErrSecretNotFound, its write must fail,
// and nothing may be written to the fallback files.
func TestKeyringDaemonKilledWhileRunning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := privateBus(t, ctx)
	gnomeKeyring(t, ctx, addr, true)
	dir := t.TempDir()
	_, stdin, lines := faultChild(t, ctx, "keyringgone", dir, "DBUS_SESSION_BUS_ADDRESS="+addr)
	waitLine(t, ctx, lines, "STORED")

	// The daemon the test started is the bus name's owner: kill it by its pid.
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid uint32
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixProcessID", 0, "org.freedesktop.secrets").Store(&pid); err != nil {
		t.Fatalf("find the keyring daemon: %v", err)
	}
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatalf("kill the keyring daemon %d: %v", pid, err)
	}
	for { // bounded by ctx
		var has bool
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has); err == nil && !has {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the keyring daemon's name stayed on the bus")
		case <-time.After(20 * time.Millisecond):
		}
	}
	io.WriteString(stdin, "go\n")
	line := waitLine(t, ctx, lines, "REPORT ")
	var r keyringGoneReport
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "REPORT ")), &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("child report: %+v", r)
	if r.GetErr == "" || r.GetNotFound {
		t.Errorf("Get with the daemon gone: %+v; want an error other than ErrSecretNotFound", r)
	}
	if r.SetErr == "" {
		t.Error("Set with the daemon gone succeeded")
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "secrets")); err == nil && len(entries) > 0 {
		t.Errorf("secrets were written to files while the keyring was gone: %v", entries)
	}
}
