package sysproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// environment is a file in environment.d (environment.d(5)), from which systemd's user
// session sets the environment of the programs started in it: http_proxy and
// https_proxy, read by curl, wget, git, apt and most terminal programs. It takes effect
// at the next login. The file is Convergence's own; what was at its path before (as a
// rule nothing) is put back byte for byte.
type environment struct{}

// envFileName sorts after the usual files, so its values win while it exists.
const envFileName = "90-convergence-proxy.conf"

// envRecord is the file as it was.
type envRecord struct {
	Exists  bool        `json:"exists"`
	Content []byte      `json:"content,omitempty"`
	Mode    fs.FileMode `json:"mode,omitempty"`
}

func (environment) ID() string   { return "environment" }
func (environment) Name() string { return "terminal programs" }

func (environment) path() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("environment.d: %w: %v", ErrUnavailable, err)
	}
	return filepath.Join(dir, "environment.d", envFileName), nil
}

func (e environment) Available(context.Context) error {
	_, err := e.path()
	return err
}

// envContent is the file that points terminal programs at t; loopback stays direct.
func envContent(t Target) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by Convergence (\"Protect this computer\"); it is removed when protection is turned off or Convergence quits.\n")
	for _, k := range []string{"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"} {
		fmt.Fprintf(&b, "%s=%s\n", k, t.ProxyURL())
	}
	for _, k := range []string{"no_proxy", "NO_PROXY"} {
		fmt.Fprintf(&b, "%s=localhost,127.0.0.1,::1\n", k)
	}
	return b.Bytes()
}

func (e environment) Read(context.Context) ([]byte, error) {
	p, err := e.path()
	if err != nil {
		return nil, err
	}
	var rec envRecord
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("failed to read %q: %w", p, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("failed to read %q: not a regular file; move it away and try again", p)
	default:
		if rec.Content, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("failed to read %q: %w", p, err)
		}
		rec.Exists, rec.Mode = true, fi.Mode().Perm()
	}
	return json.Marshal(rec)
}

func (e environment) Apply(_ context.Context, t Target) error {
	if err := checkTarget(t); err != nil {
		return err
	}
	p, err := e.path()
	if err != nil {
		return err
	}
	return writeAtomic(p, envContent(t), 0o644)
}

func (e environment) Restore(_ context.Context, previous []byte) error {
	var rec envRecord
	if err := json.Unmarshal(previous, &rec); err != nil {
		return fmt.Errorf("failed to read the saved environment.d file: %w", err)
	}
	p, err := e.path()
	if err != nil {
		return err
	}
	if !rec.Exists {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("failed to remove %q: %w", p, err)
		}
		return nil
	}
	return writeAtomic(p, rec.Content, rec.Mode)
}

func (e environment) Current(_ context.Context, t Target) (State, error) {
	p, err := e.path()
	if err != nil {
		return State{}, err
	}
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return State{Describe: "no proxy set by Convergence"}, nil
	case err != nil:
		return State{}, fmt.Errorf("failed to read %q: %w", p, err)
	case bytes.Equal(b, envContent(t)):
		return State{PointsAt: true, Describe: "http_proxy=" + t.ProxyURL() + " for programs started after your next login, in " + p}, nil
	case strings.Contains(string(b), "Written by Convergence"):
		return State{Describe: "Convergence's file with another address, in " + p}, nil
	}
	return State{Describe: "another file at " + p}, nil
}

// writeAtomic replaces path with data (a temporary file renamed over it), making its
// folder if needed.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("failed to create %q: %w", filepath.Dir(path), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("failed to write %q: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("failed to write %q: %w", path, err)
	}
	return nil
}
