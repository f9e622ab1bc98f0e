//go:build unix

package settings

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with this ID runs (signal 0 checks without
// sending anything; EPERM means it runs as another user). 0 is no process.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
