//go:build linux

package truststore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Debian-family layout; Fedora's (/etc/pki/ca-trust/source/anchors + update-ca-trust)
// is tried when this one is absent.
var systemStores = []struct{ dir, update string }{
	{"/usr/local/share/ca-certificates", "update-ca-certificates"},
	{"/etc/pki/ca-trust/source/anchors", "update-ca-trust"},
}

// InstallSystem copies the CA (PEM) into the system store as name.crt and refreshes
// the store. It needs root: run it from a privileged helper (pkexec) or with sudo.
func InstallSystem(ctx context.Context, certPEM []byte, name string) error {
	for _, s := range systemStores {
		if _, err := os.Stat(s.dir); err != nil {
			continue
		}
		return installSystemAt(ctx, s.dir, s.update, certPEM, name)
	}
	return fmt.Errorf("failed to install CA %q: no known system trust store directory", name)
}

// UninstallSystem removes name.crt from the system store and refreshes it.
func UninstallSystem(ctx context.Context, name string) error {
	for _, s := range systemStores {
		path := filepath.Join(s.dir, fileName(name))
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("failed to remove %q (needs root: try sudo): %w", path, err)
		}
		return runUpdate(ctx, s.update)
	}
	return nil
}

func installSystemAt(ctx context.Context, dir, update string, certPEM []byte, name string) error {
	path := filepath.Join(dir, fileName(name))
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		return fmt.Errorf("failed to write %q (needs root: try sudo): %w", path, err)
	}
	if update == "" {
		return nil
	}
	return runUpdate(ctx, update)
}

func runUpdate(ctx context.Context, update string) error {
	out, err := exec.CommandContext(ctx, update).CombinedOutput()
	if err != nil {
		return fmt.Errorf("failed to run %q: %w: %s", update, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// fileName turns a CA name into a safe file name ending in .crt.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name) + ".crt"
}
