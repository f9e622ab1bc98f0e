package settings

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// KeyringService is the service name Convergence's secrets have in the OS keyring.
const KeyringService = "convergence"

// probeTimeout bounds the keyring probe in OpenSecrets; a working keyring answers in
// milliseconds, a locked one may never answer.
const probeTimeout = 3 * time.Second

// Fallback reports that the keyring did not work and secrets are kept in files. Show
// Hint to the user: it names the fix in plain words.
type Fallback struct {
	Err  error  // why the keyring probe failed
	Hint string // what to do about it, and where the secrets are kept meanwhile
	Fix  string // what to do about it alone, in plain words (the start of Hint)
	Dir  string // the folder holding the secret files
}

// OpenSecrets returns the keyring when it works, else file secrets in dir/secrets and
// a *Fallback saying why and what to do. It probes the keyring with a set, get and
// delete of a throw-away item, giving up after a few seconds (a locked keyring can
// block waiting for a prompt; the probe's goroutine then ends when the keyring call
// returns, if ever). When the keyring works, secrets left in files by an earlier
// fallback are moved into it on first read.
func OpenSecrets(dir string) (Secrets, *Fallback) {
	return openSecrets(dir, systemKeyring{}, probeTimeout)
}

func openSecrets(dir string, kr keyringAPI, timeout time.Duration) (Secrets, *Fallback) {
	files := &fileSecrets{dir: filepath.Join(dir, secretsDirName)}
	if err := probeKeyring(kr, timeout); err != nil {
		fix := keyringFix(err)
		return files, &Fallback{Err: err, Hint: keyringHint(fix, files.dir), Fix: fix, Dir: files.dir}
	}
	return &migratingSecrets{
		primary: &keyringSecrets{kr: kr, service: KeyringService, timeout: keyringTimeout},
		legacy:  files,
	}, nil
}

// probeKeyring stores, reads back and deletes a random value.
func probeKeyring(kr keyringAPI, timeout time.Duration) error {
	var b [16]byte
	rand.Read(b[:])
	want := hex.EncodeToString(b[:])
	// An item of its own: two processes that start together (the app and a terminal
	// command, or two test packages) probing one shared item read each other's value or
	// deletion, and one of them fell back to files for no reason.
	user := "probe-" + want[:8]
	_, err := callWithTimeout(timeout, func() (struct{}, error) {
		if err := kr.Set(KeyringService, user, want); err != nil {
			return struct{}{}, fmt.Errorf("failed to store a probe item: %w", err)
		}
		got, err := kr.Get(KeyringService, user)
		if err != nil {
			return struct{}{}, fmt.Errorf("failed to read the probe item back: %w", err)
		}
		if got != want {
			return struct{}{}, errors.New("failed to read the probe item back: the keyring returned another value")
		}
		if err := kr.Delete(KeyringService, user); err != nil {
			return struct{}{}, fmt.Errorf("failed to delete the probe item: %w", err)
		}
		return struct{}{}, nil
	})
	return err
}

// keyringHint is the fix, then where secrets are kept until it is made.
func keyringHint(fix, dir string) string {
	return fmt.Sprintf("%s; until then the CA key is kept in %q with mode 0600", fix, dir)
}

// keyringFix names the fix for a failed probe, from the errors go-keyring gives on
// Linux (see shared/reference/desktop-stack.md).
func keyringFix(err error) string {
	msg := err.Error()
	var fix string
	switch {
	case errors.Is(err, errKeyringTimeout) || strings.Contains(msg, "unlock") || strings.Contains(msg, "locked"):
		fix = "the keyring is locked: unlock it (log in to the desktop session, or open your keyring manager) and restart Convergence"
	case strings.Contains(msg, "not provided by any .service files") || strings.Contains(msg, "ServiceUnknown") || strings.Contains(msg, "org.freedesktop.secrets"):
		fix = "no keyring program is running (no Secret Service): install GNOME Keyring (the gnome-keyring package) or turn on KeePassXC's Secret Service, unlock it, and restart Convergence"
	case strings.Contains(msg, "dbus-launch") || strings.Contains(msg, "DBUS_SESSION_BUS_ADDRESS") ||
		strings.Contains(msg, "session bus") || strings.Contains(msg, "dial unix"):
		fix = "Convergence was started outside a desktop session, so it cannot reach your keyring: start it from your desktop's menu (in a terminal without a desktop, under dbus-run-session with gnome-keyring unlocked)"
	case runtime.GOOS == "darwin":
		fix = "the macOS Keychain refused: unlock the login keychain in Keychain Access and restart Convergence"
	case runtime.GOOS == "windows":
		fix = "the Windows Credential Manager refused: check that it runs and restart Convergence"
	default:
		fix = "the system keyring did not answer: make sure GNOME Keyring or KeePassXC's Secret Service runs and is unlocked, and restart Convergence"
	}
	return fix
}

// migratingSecrets reads through to the files an earlier fallback wrote and moves
// what it finds into the keyring, so a key made while the keyring was down is not
// lost (and the local CA need not be trusted again) once the keyring works.
type migratingSecrets struct {
	primary Secrets // the keyring
	legacy  Secrets // the fallback files
}

// Get implements Secrets.
func (m *migratingSecrets) Get(name string) ([]byte, error) {
	v, err := m.primary.Get(name)
	if !errors.Is(err, ErrSecretNotFound) {
		return v, err
	}
	v, lerr := m.legacy.Get(name)
	if lerr != nil {
		return nil, lerr
	}
	if err := m.primary.Set(name, v); err != nil {
		return v, nil // keep using the file copy; the next Get tries again
	}
	if err := m.legacy.Delete(name); err != nil {
		return nil, fmt.Errorf("failed to remove secret %q's file after moving it into the keyring: %w", name, err)
	}
	return v, nil
}

// Set implements Secrets. A stale file copy is removed so it cannot come back.
func (m *migratingSecrets) Set(name string, value []byte) error {
	if err := m.primary.Set(name, value); err != nil {
		return err
	}
	return m.legacy.Delete(name)
}

// Delete implements Secrets.
func (m *migratingSecrets) Delete(name string) error {
	return errors.Join(m.primary.Delete(name), m.legacy.Delete(name))
}
