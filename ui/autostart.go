package ui

import (
	"fmt"
	"os"

	"github.com/emersion/go-autostart"
)

// autostarter turns "start at login" on and off; *autostart.App implements it. On
// Linux it writes $XDG_CONFIG_HOME/autostart/convergence.desktop (the folder is read
// once, when the process starts).
type autostarter interface {
	IsEnabled() bool
	Enable() error
	Disable() error
}

// newAutostarter returns the autostart entry for exec, or for the running executable
// when exec is empty.
func newAutostarter(exec []string) autostarter {
	if len(exec) == 0 {
		self, err := os.Executable()
		if err != nil {
			self = "convergence"
		}
		exec = []string{self}
	}
	return &autostart.App{
		Name:        "convergence",
		DisplayName: "Convergence",
		Exec:        exec,
	}
}

// setAutostart makes the login entry match on; it does nothing when it already does.
func (u *UI) setAutostart(on bool) error {
	if u.autostart.IsEnabled() == on {
		return nil
	}
	if on {
		if err := u.autostart.Enable(); err != nil {
			return fmt.Errorf("failed to enable start at login: %w", err)
		}
		return nil
	}
	if err := u.autostart.Disable(); err != nil {
		return fmt.Errorf("failed to disable start at login: %w", err)
	}
	return nil
}
