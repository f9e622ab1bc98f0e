package core

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"

	"github.com/convergence-ng/convergence/settings"
)

// scopedSecrets gives every data dir its own names in the shared OS keyring, so that
// two installs (a second --data-dir, or tests running side by side) never overwrite
// each other's CA key.
type scopedSecrets struct {
	settings.Secrets
	scope string
}

// scopeSecrets wraps s so that its names are tied to dataDir.
func scopeSecrets(s settings.Secrets, dataDir string) settings.Secrets {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return scopedSecrets{Secrets: s, scope: hex.EncodeToString(sum[:6])}
}

func (s scopedSecrets) name(n string) string { return n + "." + s.scope }

// Get implements settings.Secrets.
func (s scopedSecrets) Get(name string) ([]byte, error) { return s.Secrets.Get(s.name(name)) }

// Set implements settings.Secrets.
func (s scopedSecrets) Set(name string, v []byte) error { return s.Secrets.Set(s.name(name), v) }

// Delete implements settings.Secrets.
func (s scopedSecrets) Delete(name string) error { return s.Secrets.Delete(s.name(name)) }
