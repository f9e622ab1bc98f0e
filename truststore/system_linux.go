//go:build linux

package truststore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// linuxStore is a distribution's system store: a directory of anchors, the command that
// rebuilds the bundle from it, and the bundle programs read (OpenSSL, Go, curl).
type linuxStore struct {
	family string   // "Debian", "Fedora": how the store is called to a person
	dir    string   // where the anchors go
	ext    string   // the extension the update command picks up
	update []string // rebuilds bundle from dir; needs root
	bundle string   // the file programs read
}

// linuxStores are the layouts this package knows, the first whose dir exists wins.
// Debian and Ubuntu pick up only files ending in .crt.
var linuxStores = []linuxStore{
	{"Debian", "/usr/local/share/ca-certificates", ".crt", []string{"update-ca-certificates"}, "/etc/ssl/certs/ca-certificates.crt"},
	{"Fedora", "/etc/pki/ca-trust/source/anchors", ".pem", []string{"update-ca-trust", "extract"}, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"},
}

// systemStore is the store of the distribution found, or one that reports why none is.
func systemStore() store {
	for _, s := range linuxStores {
		if exists(s.dir) {
			return s
		}
	}
	return unsupportedStore{errors.New("failed to find the system trust store: neither /usr/local/share/ca-certificates (Debian) nor /etc/pki/ca-trust/source/anchors (Fedora) exists")}
}

func (s linuxStore) name() string { return "System trust store (" + s.family + ", " + s.dir + ")" }

// holds finds the files in dir, under any name this app has used, that hold ca; trusted
// is set when the bundle holds it too, that is when the update ran after the copy.
func (s linuxStore) holds(_ context.Context, ca *caCert) (found []string, trusted bool, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, false, fmt.Errorf("failed to read system trust store %q: %w", s.dir, err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), filePrefix) {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		if data, err := os.ReadFile(path); err == nil && holdsCert(data, ca.der) {
			found = append(found, path)
		}
	}
	bundle, err := os.ReadFile(s.bundle)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return found, false, fmt.Errorf("failed to read system bundle %q: %w", s.bundle, err)
	}
	return found, len(found) > 0 && holdsCert(bundle, ca.der), nil
}

func (s linuxStore) add(ctx context.Context, ca *caCert, caFile string) error {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("failed to read CA certificate %q: %w", caFile, err)
	}
	path := s.path(ca)
	// Anchors are public certificates that every program reads: 0644, as the
	// distributions' own.
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("failed to write %q: %w", path, rootErr(err))
	}
	return s.runUpdate(ctx)
}

func (s linuxStore) remove(ctx context.Context, found []string) error {
	for _, path := range found {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("failed to remove %q: %w", path, rootErr(err))
		}
	}
	return s.runUpdate(ctx)
}

func (s linuxStore) addCommand(ca *caCert, caFile string) string {
	return joinCommands(shellCommand("sudo", "install", "-m", "0644", caFile, s.path(ca)), shellCommand(append([]string{"sudo"}, s.update...)...))
}

func (s linuxStore) removeCommand(ca *caCert, found []string) string {
	if len(found) == 0 {
		found = []string{s.path(ca)}
	}
	return joinCommands(shellCommand(append([]string{"sudo", "rm", "-f"}, found...)...), shellCommand(append([]string{"sudo"}, s.update...)...))
}

// path is where ca's file goes in the store: named from its key, so that a regenerated
// CA never overwrites (or is mistaken for) the one it replaces.
func (s linuxStore) path(ca *caCert) string { return filepath.Join(s.dir, ca.file+s.ext) }

func (s linuxStore) runUpdate(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, s.update[0], s.update[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("failed to run %q: %w: %s", strings.Join(s.update, " "), rootErr(err), strings.TrimSpace(string(out)))
	}
	return nil
}

// rootErr adds ErrNeedsRoot to a permission error, so that callers know sudo helps.
func rootErr(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %w", ErrNeedsRoot, err)
	}
	return err
}
