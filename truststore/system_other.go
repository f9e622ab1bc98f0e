//go:build !linux

package truststore

import (
	"context"
	"errors"
)

// ErrUnsupported is returned by the system-store functions on platforms not yet handled.
var ErrUnsupported = errors.New("system trust store not supported on this platform")

// InstallSystem is not implemented on this platform.
func InstallSystem(ctx context.Context, certPEM []byte, name string) error { return ErrUnsupported }

// UninstallSystem is not implemented on this platform.
func UninstallSystem(ctx context.Context, name string) error { return ErrUnsupported }
