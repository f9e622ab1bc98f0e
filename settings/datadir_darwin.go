//go:build darwin

package settings

import (
	"fmt"
	"os"
	"path/filepath"
)

// defaultDataDir is ~/Library/Application Support/Convergence.
func defaultDataDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("failed to find home dir: %w", err)
	}
	return filepath.Join(home, "Library", "Application Support", "Convergence"), nil
}
