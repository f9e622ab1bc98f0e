package settings

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// InstallIDFile is the file, in the data dir, that holds the install's id.
const InstallIDFile = "install-id"

// installIDPattern is what InstallID writes: 128 random bits in lowercase hex.
var installIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// InstallID returns the id of the install whose data dir is dir, made on first use
// and kept in dir/install-id (mode 0600): 32 lowercase hex digits. It names this
// install's items in the shared OS keyring. It lives in the data dir, not in the
// store, so that it moves and is restored with the dir (a path-derived name did not:
// issue 20 item 5) and survives a database that OpenOrRecover moved aside. Two
// processes making it at once agree on one id: each writes its own temp file and
// links it into place, and the one that loses reads the winner's.
func InstallID(dir string) (string, error) {
	path := filepath.Join(dir, InstallIDFile)
	id, err := readInstallID(path)
	if !errors.Is(err, os.ErrNotExist) {
		return id, err
	}
	if err := os.MkdirAll(dir, PrivateDirMode); err != nil {
		return "", fmt.Errorf("failed to create data dir %q: %w", dir, err)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("failed to make install id: %w", err)
	}
	fresh := hex.EncodeToString(b[:])
	tmp, err := os.CreateTemp(dir, "."+InstallIDFile+".tmp-*") // CreateTemp makes it 0600
	if err != nil {
		return "", fmt.Errorf("failed to write install id %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(fresh + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("failed to write install id %q: %w", path, err)
	}
	// A link, not a rename: it fails when another process made the file first.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		if err := createExcl(path, fresh+"\n"); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("failed to write install id %q: %w", path, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return readInstallID(path)
}

// createExcl writes a new file at path, for file systems without hard links; a
// reader may see it empty for a moment, which readInstallID refuses.
func createExcl(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, PrivateFileMode)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readInstallID reads and checks the id at path; a missing file wraps os.ErrNotExist.
func readInstallID(path string) (string, error) {
	// A copy restored from a backup may have come back readable by others.
	if err := Restrict(path); err != nil {
		return "", fmt.Errorf("failed to restrict install id %q: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("failed to read install id %q: %w", path, err)
	}
	id := string(bytes.TrimSpace(b))
	if !installIDPattern.MatchString(id) {
		// Not replaced: a new id would lose this install's keyring items.
		return "", fmt.Errorf("failed to read install id %q: the file does not hold 32 hex digits (restore it from a backup of the data dir)", path)
	}
	return id, nil
}
