//go:build linux

package truststore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	// asUser is set when this process is not root: changes then go through pkexec,
	// which asks for the administrator password (admin_linux.go).
	asUser bool
}

// linuxStores are the layouts this package knows, the first whose dir exists wins.
// Debian and Ubuntu pick up only files ending in .crt.
var linuxStores = []linuxStore{
	{family: "Debian", dir: "/usr/local/share/ca-certificates", ext: ".crt", update: []string{"update-ca-certificates"}, bundle: "/etc/ssl/certs/ca-certificates.crt"},
	{family: "Fedora", dir: "/etc/pki/ca-trust/source/anchors", ext: ".pem", update: []string{"update-ca-trust", "extract"}, bundle: "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"},
}

// systemStore is the store of the distribution found, or one that reports why none is.
func systemStore() store {
	for _, s := range linuxStores {
		if exists(s.dir) {
			s.asUser = os.Geteuid() != 0
			return s
		}
	}
	return unsupportedStore{errors.New("failed to find the system trust store: neither /usr/local/share/ca-certificates (Debian) nor /etc/pki/ca-trust/source/anchors (Fedora) exists")}
}

func (s linuxStore) name() string    { return "System trust store (" + s.family + ", " + s.dir + ")" }
func (s linuxStore) kind() Kind      { return System }
func (s linuxStore) restart() string { return "" }

func (s linuxStore) checked(ca *caCert, present bool) string {
	if present {
		return s.bundle + " holds it (after " + strings.Join(s.update, " ") + ")"
	}
	return s.bundle + " no longer holds it"
}

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

// add copies the CA file into dir and rebuilds the bundle, as root: one shell, so that
// pkexec asks for the password once. Anchors are public certificates that every
// program reads: 0644, as the distributions' own.
func (s linuxStore) add(ctx context.Context, ca *caCert, caFile string) error {
	return s.asRoot(ctx, fmt.Sprintf("add %q to the system trust store", ca.nick),
		`install -m 0644 -- "$1" "$2" || exit 10; shift 2; "$@" || exit 11`,
		append([]string{caFile, s.path(ca)}, s.update...))
}

// remove deletes the files found and rebuilds the bundle, as root.
func (s linuxStore) remove(ctx context.Context, found []string) error {
	args := append([]string{fmt.Sprint(len(found))}, found...)
	return s.asRoot(ctx, "remove the local CA from the system trust store",
		`n=$1; shift; while [ "$n" -gt 0 ]; do rm -f -- "$1" || exit 10; shift; n=$((n-1)); done; "$@" || exit 11`,
		append(args, s.update...))
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

// runUpdate rebuilds the bundle, as root.
func (s linuxStore) runUpdate(ctx context.Context) error {
	return s.asRoot(ctx, "rebuild the system bundle", `"$@" || exit 11`, s.update)
}
