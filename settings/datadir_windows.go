//go:build windows

package settings

import (
	"errors"
	"os"
	"path/filepath"
)

// defaultDataDir is %AppData%\Convergence (the roaming profile).
func defaultDataDir() (string, error) {
	appData := os.Getenv("AppData")
	if appData == "" {
		return "", errors.New("failed to find %AppData%: the variable is not set")
	}
	return filepath.Join(appData, "Convergence"), nil
}
