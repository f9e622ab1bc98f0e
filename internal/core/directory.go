package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/settings"
)

// Notary directories (docs/PROTOCOL.md, "Notary directories"): each URL in the settings
// is fetched, trusted only when signed by one of the settings' directory keys, and kept
// in the data dir (directories/, one file per URL, 0600). The copy kept is the last one
// that verified, and is what every operation reads: a fetch that fails (network down, a
// bad signature, a replay of an older copy) leaves it in place.

// ErrNoDirectories means no directory URL or no directory key is set.
var ErrNoDirectories = errors.New("no notary directory is configured")

// directoryFetchTimeout bounds one directory fetch, connection to last byte.
const directoryFetchTimeout = 30 * time.Second

// DirectoryCopy is one configured directory as this install holds it.
type DirectoryCopy struct {
	URL       string
	Directory directory.Directory // zero when none is held
	Held      bool                // a copy that verifies under the keys set is on disk
	KeyID     string              // the key that signed it
	Fetched   time.Time           // when the copy held was written
	Err       error               // why the copy on disk cannot be used, when Held is false
}

// DirectoryResult is what refreshing one directory did.
type DirectoryResult struct {
	URL     string
	Updated bool  // a new copy was fetched, verified and kept
	Err     error // why the fetch failed; the copy held (if any) is still used
	Copy    DirectoryCopy
}

func (c *Core) directoryPath(u string) string {
	sum := sha256.Sum256([]byte(u))
	return filepath.Join(c.DataDir, "directories", hex.EncodeToString(sum[:12])+".directory")
}

// directoryKeys parses the settings' directory keys (Validate has checked them).
func directoryKeys(st settings.Settings) []directory.PublicKey {
	var keys []directory.PublicKey
	for _, s := range st.DirectoryKeys {
		if k, err := directory.ParsePublicKey(s); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// readCopy reads the copy of u held on disk, verified again under keys (the keys may
// have changed since it was fetched).
func (c *Core) readCopy(u string, keys []directory.PublicKey) DirectoryCopy {
	dc := DirectoryCopy{URL: u}
	path := c.directoryPath(u)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		dc.Err = fmt.Errorf("no copy of directory %q yet: %w", u, fs.ErrNotExist)
		return dc
	}
	if err != nil {
		dc.Err = fmt.Errorf("failed to read the copy of directory %q: %w", u, err)
		return dc
	}
	d, by, err := directory.Open(data, keys)
	if err != nil {
		dc.Err = fmt.Errorf("failed to use the copy of directory %q held in %s: %w", u, path, err)
		return dc
	}
	if st, err := os.Stat(path); err == nil {
		dc.Fetched = st.ModTime()
	}
	dc.Directory, dc.Held, dc.KeyID = d, true, by.ID()
	return dc
}

// Directories returns every configured directory as held on disk, without fetching.
func (c *Core) Directories(ctx context.Context) ([]DirectoryCopy, error) {
	st, err := c.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	keys := directoryKeys(st)
	out := make([]DirectoryCopy, 0, len(st.DirectoryURLs))
	for _, u := range st.DirectoryURLs {
		out = append(out, c.readCopy(u, keys))
	}
	return out, nil
}

// RefreshDirectories fetches every configured directory and keeps each copy that
// verifies under the directory keys and is not older than the one held. A failure is
// recorded in its result and leaves the copy held in place; the error is
// ErrNoDirectories when nothing is configured.
func (c *Core) RefreshDirectories(ctx context.Context) ([]DirectoryResult, error) {
	st, err := c.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	keys := directoryKeys(st)
	if len(st.DirectoryURLs) == 0 || len(keys) == 0 {
		return nil, fmt.Errorf("failed to refresh notary directories: %w", ErrNoDirectories)
	}
	client := &http.Client{Timeout: directoryFetchTimeout}
	if st.UpstreamProxy != "" {
		if p, err := url.Parse(st.UpstreamProxy); err == nil {
			client.Transport = &http.Transport{Proxy: http.ProxyURL(p)}
		}
	}
	var out []DirectoryResult
	for _, u := range st.DirectoryURLs {
		r := DirectoryResult{URL: u}
		r.Updated, r.Err = c.refreshDirectory(ctx, client, u, keys)
		r.Copy = c.readCopy(u, keys)
		out = append(out, r)
	}
	if err := c.syncFacts(ctx); err != nil {
		return out, err
	}
	return out, nil
}

// refreshDirectory fetches u, verifies it and, when it is not older than the copy
// held, writes it in the copy's place (a new file renamed over the old).
func (c *Core) refreshDirectory(ctx context.Context, client *http.Client, u string, keys []directory.PublicKey) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("failed to fetch directory %q: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("failed to fetch directory %q: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("failed to fetch directory %q: the server answered %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, directory.MaxSize+1024))
	if err != nil {
		return false, fmt.Errorf("failed to fetch directory %q: %w", u, err)
	}
	d, _, err := directory.Open(data, keys)
	if err != nil {
		return false, fmt.Errorf("refused directory %q: %w", u, err)
	}
	if held := c.readCopy(u, keys); held.Held {
		if err := directory.CheckNewer(held.Directory, d); err != nil {
			return false, fmt.Errorf("refused directory %q: %w", u, err)
		}
	}
	path := c.directoryPath(u)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("failed to keep directory %q: %w", u, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".directory-*")
	if err != nil {
		return false, fmt.Errorf("failed to keep directory %q: %w", u, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("failed to keep directory %q: %w", u, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("failed to keep directory %q: %w", u, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("failed to keep directory %q: %w", u, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("failed to keep directory %q: %w", u, err)
	}
	return true, nil
}

// DirectoryEntry is a notary listed in a directory held, and which one.
type DirectoryEntry struct {
	directory.Entry
	Directory string // the directory's name
	URL       string // where it was fetched from
}

// DirectoryEntries lists the notaries of every directory held, each name once (the
// first directory in the settings that lists it wins).
func (c *Core) DirectoryEntries(ctx context.Context) ([]DirectoryEntry, error) {
	copies, err := c.Directories(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []DirectoryEntry
	for _, dc := range copies {
		for _, e := range dc.Directory.Entries {
			if !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, DirectoryEntry{Entry: e, Directory: dc.Directory.Name, URL: dc.URL})
			}
		}
	}
	return out, nil
}
