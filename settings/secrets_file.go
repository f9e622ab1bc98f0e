package settings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
)

// secretsDirName is the folder, in the data dir, of the secrets kept as files.
const secretsDirName = "secrets"

// fileSecrets keeps each secret in dir/secrets/<name>, mode 0600, the folder 0700.
type fileSecrets struct {
	dir string     // dir/secrets
	mu  sync.Mutex // serialises writers so two Sets of one name cannot interleave renames
}

// NewFileSecrets returns Secrets kept as files in dir/secrets (folder mode 0700, files
// 0600), written atomically (temp file, fsync, rename, fsync of the folder). It is the
// fallback when no keyring works: anyone who can read the user's files can read them.
// Safe for concurrent use.
func NewFileSecrets(dir string) Secrets {
	return &fileSecrets{dir: filepath.Join(dir, secretsDirName)}
}

// secretName keeps names to one plain path element.
var secretName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (f *fileSecrets) path(name string) (string, error) {
	if !secretName.MatchString(name) {
		return "", fmt.Errorf("secret name %q is not letters, digits, '.', '_' and '-'", name)
	}
	return filepath.Join(f.dir, name), nil
}

// Get implements Secrets.
func (f *fileSecrets) Get(name string) ([]byte, error) {
	p, err := f.path(name)
	if err != nil {
		return nil, fmt.Errorf("failed to read secret: %w", err)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrSecretNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read secret %q: %w", name, err)
	}
	return b, nil
}

// Set implements Secrets.
func (f *fileSecrets) Set(name string, value []byte) error {
	p, err := f.path(name)
	if err != nil {
		return fmt.Errorf("failed to store secret: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(f.dir, PrivateDirMode); err != nil {
		return fmt.Errorf("failed to create secrets dir %q: %w", f.dir, err)
	}
	// The folder may predate us with looser bits; secrets need it private.
	if err := os.Chmod(f.dir, PrivateDirMode); err != nil {
		return fmt.Errorf("failed to restrict secrets dir %q: %w", f.dir, err)
	}
	tmp, err := os.CreateTemp(f.dir, "."+name+".tmp-*") // CreateTemp makes it 0600
	if err != nil {
		return fmt.Errorf("failed to store secret %q: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(value); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to store secret %q: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to store secret %q: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to store secret %q: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("failed to store secret %q: %w", name, err)
	}
	return syncDir(f.dir)
}

// Delete implements Secrets.
func (f *fileSecrets) Delete(name string) error {
	p, err := f.path(name)
	if err != nil {
		return fmt.Errorf("failed to delete secret: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to delete secret %q: %w", name, err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot open a folder for sync; there
// the rename is as durable as NTFS makes it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("failed to open secrets dir %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("failed to sync secrets dir %q: %w", dir, err)
	}
	return nil
}
