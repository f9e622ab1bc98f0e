package core

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/settings"
)

// scopedSecrets gives every install its own names in the shared OS keyring, so that
// two installs (a second --data-dir, or tests running side by side) never overwrite
// each other's CA key. The names end in the data dir's install id
// (settings.InstallID), which moves with the dir: earlier versions ended them in a
// hash of the dir's absolute path, so a dir restored elsewhere lost its CA key and
// had to regenerate the CA and trust it again in every browser (issue 20 item 5).
type scopedSecrets struct {
	settings.Secrets
	scope string
	// legacy is the path-derived scope of earlier versions, looked at when a name
	// is missing under scope; empty when the dir has no CA certificate, since a
	// key left under the old name by a deleted dir at the same path belongs to no
	// certificate here (taking it would make the CA "incomplete").
	legacy string
}

// scopeSecrets wraps s so that its names are tied to dataDir's install id, made on
// first use.
func scopeSecrets(s settings.Secrets, dataDir string) (settings.Secrets, error) {
	id, err := settings.InstallID(dataDir)
	if err != nil {
		return nil, err
	}
	sc := scopedSecrets{Secrets: s, scope: id}
	if _, err := os.Stat(filepath.Join(dataDir, localproxy.CACertFile)); err == nil {
		sc.legacy = pathScope(dataDir)
	}
	return sc, nil
}

// pathScope is the scope earlier versions used: the first 6 bytes of the SHA-256 of
// dataDir's absolute path, in hex (12 digits, so never an install id's 32).
func pathScope(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:6])
}

func (s scopedSecrets) name(n string) string { return n + "." + s.scope }

// Get implements settings.Secrets. A secret missing under its name but found under
// its path-derived name is copied to its name, read back, and only then deleted
// under the old name: one key under one name, and a later move of the dir keeps it.
func (s scopedSecrets) Get(name string) ([]byte, error) {
	v, err := s.Secrets.Get(s.name(name))
	if s.legacy == "" || !errors.Is(err, settings.ErrSecretNotFound) {
		return v, err
	}
	old := name + "." + s.legacy
	v, err = s.Secrets.Get(old)
	if err != nil {
		return nil, err
	}
	if err := s.Secrets.Set(s.name(name), v); err != nil {
		return nil, fmt.Errorf("failed to move secret %q to this install's name: %w", old, err)
	}
	if got, err := s.Secrets.Get(s.name(name)); err != nil || string(got) != string(v) {
		return nil, fmt.Errorf("failed to move secret %q to this install's name: it did not read back (%v)", old, err)
	}
	// The key works under its new name now; an old copy that would not go is
	// deleted by the next Set or Delete (a regenerated CA), so it does not stop the
	// start here.
	_ = s.Secrets.Delete(old)
	return v, nil
}

// Set implements settings.Secrets. A copy under the path-derived name is deleted, so
// that an old key cannot come back.
func (s scopedSecrets) Set(name string, v []byte) error {
	if err := s.Secrets.Set(s.name(name), v); err != nil {
		return err
	}
	if s.legacy == "" {
		return nil
	}
	return s.Secrets.Delete(name + "." + s.legacy)
}

// Delete implements settings.Secrets.
func (s scopedSecrets) Delete(name string) error {
	err := s.Secrets.Delete(s.name(name))
	if s.legacy != "" {
		err = errors.Join(err, s.Secrets.Delete(name+"."+s.legacy))
	}
	return err
}
