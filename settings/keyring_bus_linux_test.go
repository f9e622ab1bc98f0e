//go:build linux

package settings

import (
	"errors"
	"testing"
)

// TestNoSessionBusNoAutolaunch checks that without a session bus the keyring is not
// tried at all (go-keyring would autolaunch a dbus-daemon that outlives the app), and
// that the fallback says why.
func TestNoSessionBusNoAutolaunch(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	s, fb := OpenSecrets(t.TempDir())
	if fb == nil {
		t.Fatal("OpenSecrets used the keyring with no session bus")
	}
	if !errors.Is(fb.Err, errNoSessionBus) {
		t.Errorf("fallback error = %v, want errNoSessionBus", fb.Err)
	}
	if err := s.Set("k", []byte("v")); err != nil {
		t.Fatalf("file fallback Set: %v", err)
	}
	if got, err := s.Get("k"); err != nil || string(got) != "v" {
		t.Errorf("file fallback Get = %q, %v", got, err)
	}
}
