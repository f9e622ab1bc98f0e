//go:build !linux

package sysproxy

// mechanisms is empty: the system proxy is set on Linux only for now (Windows keeps
// it in the registry, macOS in networksetup); Supported returns ErrUnsupported.
func mechanisms() []Mechanism { return nil }
