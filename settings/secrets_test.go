package settings

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// The fakes below stand in for the OS keyring where the real one cannot run in a
// unit test; TestOpenSecretsRealBus* drive the real go-keyring over a real D-Bus.

// memKeyring is a working keyring in memory.
type memKeyring struct {
	mu sync.Mutex // protects m
	m  map[string]string
}

func newMemKeyring() *memKeyring { return &memKeyring{m: map[string]string{}} }

func (k *memKeyring) Set(service, user, password string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[service+"\x00"+user] = password
	return nil
}

func (k *memKeyring) Get(service, user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[service+"\x00"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (k *memKeyring) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[service+"\x00"+user]; !ok {
		return keyring.ErrNotFound
	}
	delete(k.m, service+"\x00"+user)
	return nil
}

// failKeyring fails every call the way go-keyring does without a Secret Service.
type failKeyring struct{ err error }

func (k failKeyring) Set(string, string, string) error   { return k.err }
func (k failKeyring) Get(string, string) (string, error) { return "", k.err }
func (k failKeyring) Delete(string, string) error        { return k.err }

// blockKeyring blocks every call until release is closed, like a locked collection
// waiting for an unlock prompt.
type blockKeyring struct{ release chan struct{} }

func (k blockKeyring) Set(string, string, string) error { <-k.release; return errors.New("released") }
func (k blockKeyring) Get(string, string) (string, error) {
	<-k.release
	return "", errors.New("released")
}
func (k blockKeyring) Delete(string, string) error { <-k.release; return errors.New("released") }

// exerciseSecrets checks the Secrets contract on s.
func exerciseSecrets(t *testing.T, s Secrets) {
	t.Helper()
	if _, err := s.Get("ca-key"); !errors.Is(err, ErrSecretNotFound) {
		t.Fatalf("Get of a missing secret: %v, want ErrSecretNotFound", err)
	}
	if err := s.Delete("ca-key"); err != nil {
		t.Fatalf("Delete of a missing secret: %v", err)
	}
	value := []byte("-----BEGIN PRIVATE KEY-----\n\x00\x01\xff binary too\n")
	if err := s.Set("ca-key", value); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("ca-key", append(value, '!')); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("ca-key")
	if err != nil || !bytes.Equal(got, append(value, '!')) {
		t.Fatalf("Get = %q, %v; want the last value set", got, err)
	}
	if err := s.Delete("ca-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("ca-key"); !errors.Is(err, ErrSecretNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrSecretNotFound", err)
	}
}

func TestSecretsContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) { exerciseSecrets(t, NewMemorySecrets()) })
	t.Run("file", func(t *testing.T) { exerciseSecrets(t, NewFileSecrets(t.TempDir())) })
	t.Run("keyring", func(t *testing.T) {
		exerciseSecrets(t, &keyringSecrets{kr: newMemKeyring(), service: "test", timeout: time.Minute})
	})
}

// TestKeyringSecretsWithGoKeyringMock goes through go-keyring's own package functions
// with its in-memory provider. keyring.MockInit is process-wide and cannot be undone;
// no other test in this process uses the system keyring (the real-bus tests run in a
// child process).
func TestKeyringSecretsWithGoKeyringMock(t *testing.T) {
	// The mock needs no bus, but systemKeyring checks that one exists before any call.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mock-needs-no-bus")
	keyring.MockInit()
	s := NewKeyringSecrets("convergence-test")
	exerciseSecrets(t, s)
	if err := s.Set("k", []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	raw, err := keyring.Get("convergence-test", "k")
	if err != nil || raw != "AAEC" {
		t.Errorf("keyring holds %q, %v; want base64 %q", raw, err, "AAEC")
	}
}

func TestFileSecretsModesAndNames(t *testing.T) {
	dir := t.TempDir()
	s := NewFileSecrets(dir)
	if err := s.Set("ca-key", []byte("k")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("secrets dir: %v, %v; want mode 0700", fi.Mode(), err)
	}
	fi, err = os.Stat(filepath.Join(dir, "secrets", "ca-key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "secrets"))
	if len(entries) != 1 {
		t.Errorf("secrets dir holds %d entries, want only the secret (no temp files)", len(entries))
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden", strings.Repeat("a", 200)} {
		if err := s.Set(bad, []byte("v")); err == nil {
			t.Errorf("Set(%q) accepted a bad name", bad)
		}
		if _, err := s.Get(bad); err == nil || errors.Is(err, ErrSecretNotFound) {
			t.Errorf("Get(%q) = %v; want a name error", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a name escaped the secrets dir")
	}
}

func TestFileSecretsConcurrentSets(t *testing.T) {
	s := NewFileSecrets(t.TempDir())
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				v := bytes.Repeat([]byte{byte('a' + i)}, 4096)
				if err := s.Set("k", v); err != nil {
					t.Error(err)
					return
				}
				got, err := s.Get("k")
				if err != nil || len(got) != 4096 || !bytes.Equal(got, bytes.Repeat(got[:1], 4096)) {
					t.Errorf("Get saw a torn or missing value (len %d): %v", len(got), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestOpenSecretsFallsBackWithHint(t *testing.T) {
	release := make(chan struct{})
	defer close(release) // ends the blocked probe goroutine
	for _, tc := range []struct {
		name     string
		kr       keyringAPI
		wantHint string
	}{
		{"no secret service", failKeyring{errors.New("The name org.freedesktop.secrets was not provided by any .service files")}, "no keyring program is running (no Secret Service): install GNOME Keyring"},
		{"no session bus", failKeyring{errors.New(`exec: "dbus-launch": executable file not found in $PATH`)}, "started outside a desktop session"},
		{"locked", failKeyring{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")}, "the keyring is locked"},
		{"blocks", blockKeyring{release}, "the keyring is locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, fb := openSecrets(dir, tc.kr, 50*time.Millisecond)
			if fb == nil {
				t.Fatal("no Fallback reported")
			}
			if fb.Err == nil || !strings.Contains(fb.Hint, tc.wantHint) {
				t.Errorf("Fallback = %+v; want Err and a hint with %q", fb, tc.wantHint)
			}
			secretsDir := filepath.Join(dir, "secrets")
			if fb.Dir != secretsDir || !strings.Contains(fb.Hint, fmt.Sprintf("%q", secretsDir)) || !strings.Contains(fb.Hint, "0600") {
				t.Errorf("hint %q / Dir %q do not name %q and its mode", fb.Hint, fb.Dir, secretsDir)
			}
			if err := s.Set("ca-key", []byte("key")); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(secretsDir, "ca-key")); err != nil || string(b) != "key" {
				t.Errorf("fallback did not write the file: %q, %v", b, err)
			}
		})
	}
}

func TestOpenSecretsUsesWorkingKeyringAndMovesFiles(t *testing.T) {
	dir := t.TempDir()
	// An earlier run fell back to files.
	if err := NewFileSecrets(dir).Set("ca-key", []byte("old key")); err != nil {
		t.Fatal(err)
	}
	kr := newMemKeyring()
	s, fb := openSecrets(dir, kr, time.Minute)
	if fb != nil {
		t.Fatalf("Fallback with a working keyring: %+v", fb)
	}
	kr.mu.Lock()
	for k := range kr.m {
		if strings.Contains(k, "\x00probe") {
			t.Errorf("the probe item %q was left in the keyring", k)
		}
	}
	kr.mu.Unlock()
	got, err := s.Get("ca-key")
	if err != nil || string(got) != "old key" {
		t.Fatalf("Get = %q, %v; want the file's key", got, err)
	}
	if v, err := kr.Get(KeyringService, "ca-key"); err != nil || v != "b2xkIGtleQ==" {
		t.Errorf("keyring holds %q, %v; want the moved key in base64", v, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secrets", "ca-key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file copy is still there: %v", err)
	}
	if err := s.Delete("ca-key"); err != nil {
		t.Fatal(err)
	}
	exerciseSecrets(t, s)
}

func TestKeyringCallTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := &keyringSecrets{kr: blockKeyring{release}, service: "test", timeout: 20 * time.Millisecond}
	if _, err := s.Get("k"); !errors.Is(err, errKeyringTimeout) {
		t.Errorf("Get on a blocked keyring: %v, want a timeout", err)
	}
	if err := s.Set("k", []byte("v")); !errors.Is(err, errKeyringTimeout) {
		t.Errorf("Set on a blocked keyring: %v, want a timeout", err)
	}
}
