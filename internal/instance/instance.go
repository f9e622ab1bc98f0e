// Package instance keeps one desktop app per data dir: the first claims a name on the
// D-Bus session bus, a second start asks it to show its window instead of running.
package instance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// ErrRunning says another instance already holds the data dir's name.
var ErrRunning = errors.New("another Convergence is already running on this data dir")

// errNoBus: without an address, godbus would start a bus of its own (dbus-launch), which
// would outlive the app and guard nothing.
var errNoBus = errors.New("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")

// activateTimeout bounds the wait for the running instance's answer.
const activateTimeout = 5 * time.Second

const (
	baseName = "org.convergence.desktop"
	// objPath and iface: the running instance answers org.freedesktop.Application's
	// Activate (https://specifications.freedesktop.org/desktop-entry-spec/latest/dbus.html).
	objPath = dbus.ObjectPath("/org/convergence/desktop")
	iface   = "org.freedesktop.Application"
)

// Name is the bus name of the instance that runs on dataDir: one per data dir, so that
// a second app on another data dir (tests, a second profile) runs on its own.
func Name(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return baseName + ".dir_" + hex.EncodeToString(sum[:8])
}

// Instance is the claim of the running app on its name. Its methods are safe for
// concurrent use.
type Instance struct {
	conn *dbus.Conn

	mu       sync.Mutex // protects activate
	activate func()
}

// Claim takes dataDir's name on the session bus on a connection of its own, and
// answers Activate calls from later starts with the function given to OnActivate.
// It returns ErrRunning when another instance holds the name; other errors when the
// bus cannot be used (the caller then runs without the guard).
func Claim(dataDir string) (*Instance, error) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return nil, errNoBus
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("failed to connect to the session bus: %w", err)
	}
	in := &Instance{conn: conn}
	// Exported before the name is taken, so that no call finds the name without it.
	if err := conn.ExportMethodTable(map[string]any{"Activate": in.onActivateCall}, objPath, iface); err != nil {
		conn.Close()
		return nil, fmt.Errorf("failed to export %s on the session bus: %w", iface, err)
	}
	reply, err := conn.RequestName(Name(dataDir), dbus.NameFlagDoNotQueue)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("failed to claim %q on the session bus: %w", Name(dataDir), err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		return nil, ErrRunning
	}
	return in, nil
}

// OnActivate sets what an Activate call from a later start runs (show the window);
// until it is set, such calls are answered and do nothing.
func (in *Instance) OnActivate(fn func()) {
	in.mu.Lock()
	in.activate = fn
	in.mu.Unlock()
}

// onActivateCall implements org.freedesktop.Application.Activate(a{sv} platform_data).
func (in *Instance) onActivateCall(map[string]dbus.Variant) *dbus.Error {
	in.mu.Lock()
	fn := in.activate
	in.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

// Close gives the name up.
func (in *Instance) Close() error { return in.conn.Close() }

// Activate asks the instance running on dataDir to show itself.
func Activate(ctx context.Context, dataDir string) error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return errNoBus
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("failed to connect to the session bus: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, activateTimeout)
	defer cancel()
	call := conn.Object(Name(dataDir), objPath).CallWithContext(ctx, iface+".Activate", 0, map[string]dbus.Variant{})
	if call.Err != nil {
		return fmt.Errorf("failed to ask the running Convergence to show its window: %w", call.Err)
	}
	return nil
}
