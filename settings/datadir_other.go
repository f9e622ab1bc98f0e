//go:build !linux && !darwin && !windows

package settings

import (
	"fmt"
	"runtime"
)

// defaultDataDir has no default on this OS: the user names one with --data-dir or
// CONVERGENCE_HOME.
func defaultDataDir() (string, error) {
	return "", fmt.Errorf("no default data dir on %s", runtime.GOOS)
}
