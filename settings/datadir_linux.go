//go:build linux

package settings

import (
	"fmt"
	"os"
	"path/filepath"
)

// defaultDataDir follows the XDG Base Directory spec: $XDG_DATA_HOME/convergence, else
// ~/.local/share/convergence. A relative XDG_DATA_HOME is invalid by the spec and ignored.
func defaultDataDir() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "convergence"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("failed to find home dir: %w", err)
	}
	return filepath.Join(home, ".local", "share", "convergence"), nil
}
