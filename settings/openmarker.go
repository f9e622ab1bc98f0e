package settings

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Open runs PRAGMA quick_check only after an unclean shutdown: it reads every page
// (77% of start-up with 100,000 cached verdicts, issue 13), and a store closed
// cleanly needs no check. Each open Store leaves a marker file beside the database,
// convergence.db.open-<pid>-<random>, which Close removes. A marker that no open
// Store of this process owns was left by a process that crashed or was killed, or
// belongs to another process that has the store open now (the terminal beside the
// app): either way Open checks, which only costs time in the second case. After a
// passing check it removes the markers whose process is gone, so one crash costs one
// check. SQLite's write-ahead log keeps the file consistent through a crash; the
// check is there to catch what a crash cannot explain (a disk that lost or tore a
// write), and a store closed cleanly and damaged afterwards is found when the
// damaged page is read.
const markerPrefix = DBName + ".open-"

// ownMarkers are the markers of the Stores this process has open (by path).
var ownMarkers struct {
	mu sync.Mutex // protects m
	m  map[string]bool
}

// foreignMarkers returns the markers in dir that no open Store of this process owns.
func foreignMarkers(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to list data dir %q: %w", dir, err)
	}
	ownMarkers.mu.Lock()
	defer ownMarkers.mu.Unlock()
	var out []string
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), markerPrefix) && !ownMarkers.m[path] {
			out = append(out, path)
		}
	}
	return out, nil
}

// createMarker writes this Store's marker (mode 0600) and makes it durable before
// the Store writes anything, so that a power loss cannot keep the database's writes
// and lose the marker.
func createMarker(dir string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("failed to name open marker: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s%d-%s", markerPrefix, os.Getpid(), hex.EncodeToString(b[:])))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, PrivateFileMode)
	if err != nil {
		return "", fmt.Errorf("failed to create open marker %q: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("failed to create open marker %q: %w", path, err)
	}
	ownMarkers.mu.Lock()
	defer ownMarkers.mu.Unlock()
	if ownMarkers.m == nil {
		ownMarkers.m = map[string]bool{}
	}
	ownMarkers.m[path] = true
	return path, nil
}

// removeMarker removes a marker this process made. A missing one is not an error.
func removeMarker(path string) error {
	ownMarkers.mu.Lock()
	delete(ownMarkers.m, path)
	ownMarkers.mu.Unlock()
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to remove open marker %q: %w", path, err)
	}
	return nil
}

// removeDeadMarkers removes the markers whose process has ended; markers of live
// processes (or of a process whose state cannot be told) stay for their owner. A
// marker with this process's ID that none of its Stores owns was left by an earlier
// process with the same ID (a container's app is often process 1 at every start).
func removeDeadMarkers(markers []string) error {
	var errs []error
	for _, m := range markers {
		if pid := markerPID(m); pid != os.Getpid() && processAlive(pid) {
			continue
		}
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("failed to remove open marker %q: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// markerPID returns the process ID in a marker's name, or 0 when it has none.
func markerPID(path string) int {
	rest := strings.TrimPrefix(filepath.Base(path), markerPrefix)
	pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
