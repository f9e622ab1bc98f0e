//go:build linux || freebsd || openbsd || netbsd || dragonfly

package settings

import (
	"errors"
	"os"
	"path/filepath"
)

// errNoSessionBus is why the keyring is not tried when no session bus can be found.
var errNoSessionBus = errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set and $XDG_RUNTIME_DIR/bus does not exist)")

// sessionBusAvailable reports whether a session bus can be reached without starting
// one. Without this check go-keyring's D-Bus library autolaunches a dbus-daemon through
// dbus-launch on every call, and those daemons outlive the app.
func sessionBusAvailable() error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		if fi, err := os.Stat(filepath.Join(dir, "bus")); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
	}
	return errNoSessionBus
}
