package settings

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDataDirPrecedence(t *testing.T) {
	base := t.TempDir()
	flag, env, xdg := filepath.Join(base, "flag"), filepath.Join(base, "env"), filepath.Join(base, "xdg")
	t.Setenv("XDG_DATA_HOME", xdg)

	t.Setenv(EnvHome, env)
	if got, err := DataDir(flag); err != nil || got != flag {
		t.Errorf("with a flag: %q, %v; want %q", got, err, flag)
	}
	if got, err := DataDir(""); err != nil || got != env {
		t.Errorf("with %s: %q, %v; want %q", EnvHome, got, err, env)
	}
	t.Setenv(EnvHome, "")
	got, err := DataDir("")
	if runtime.GOOS == "linux" {
		if want := filepath.Join(xdg, "convergence"); err != nil || got != want {
			t.Errorf("default: %q, %v; want %q", got, err, want)
		}
	} else if err != nil {
		t.Logf("default on %s: %v", runtime.GOOS, err)
	}
	for _, d := range []string{flag, env} {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700) {
			t.Errorf("%q: %v, %v; want a dir with mode 0700", d, fi, err)
		}
	}
}

func TestDataDirLinuxHomeFallback(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the ~/.local/share default is Linux's")
	}
	// HOME is not changed (that would move the Go caches); the XDG variable is
	// unset, or relative (invalid by the spec), so the home default applies.
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home dir")
	}
	want := filepath.Join(home, ".local", "share", "convergence")
	for _, x := range []string{"", "relative/path"} {
		t.Setenv("XDG_DATA_HOME", x)
		got, err := defaultDataDir()
		if err != nil || got != want {
			t.Errorf("XDG_DATA_HOME=%q: %q, %v; want %q", x, got, err, want)
		}
	}
}

func TestDataDirRelativeOverrideIsAbsolute(t *testing.T) {
	t.Chdir(t.TempDir())
	got, err := DataDir("rel")
	if err != nil || !filepath.IsAbs(got) || filepath.Base(got) != "rel" {
		t.Errorf("DataDir(rel) = %q, %v", got, err)
	}
}

func TestDataDirFileInTheWay(t *testing.T) {
	// A file where the dir should be is unusable whoever runs the test, root included.
	path := filepath.Join(t.TempDir(), "convergence")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := DataDir(path)
	checkDirError(t, err, path)
	_, err = Open(testCtx(t), path)
	checkDirError(t, err, path)
}

func checkDirError(t *testing.T, err error, dir string) {
	t.Helper()
	var de *DirError
	if !errors.As(err, &de) || !errors.Is(err, ErrDirNotUsable) {
		t.Fatalf("err = %v (%T), want a *DirError", err, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, dir) || !strings.Contains(de.Hint, "--data-dir") || !strings.Contains(msg, de.Hint) {
		t.Errorf("error %q (hint %q) does not name the dir and the fix", msg, de.Hint)
	}
}
