//go:build !(linux || freebsd || openbsd || netbsd || dragonfly)

package settings

// sessionBusAvailable is nil where the keyring does not go through D-Bus.
func sessionBusAvailable() error { return nil }
