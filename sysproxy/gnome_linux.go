package sysproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// gnome is GNOME's proxy settings (gsettings schema org.gnome.system.proxy), which
// GNOME, Cinnamon, Budgie and Unity read, and Chromium and Firefox follow where
// XDG_CURRENT_DESKTOP names GNOME. It sets mode 'auto' with the proxy's PAC file;
// the hosts and ports of a manual setting are left as they are, so putting back
// 'manual' brings them back.
type gnome struct{}

const gnomeSchema = "org.gnome.system.proxy"

// gnomeKeys are the keys Apply changes, in the order Restore writes them (mode last,
// so that a desktop reading in between never sees 'auto' with another's URL).
var gnomeKeys = []string{"autoconfig-url", "mode"}

// gnomeValue is one key as it was: its value in GVariant text as gsettings prints it,
// and whether that is the schema's default (put back with reset, not set).
type gnomeValue struct {
	Value   string `json:"value"`
	Default bool   `json:"default"`
}

func (gnome) ID() string   { return "gnome" }
func (gnome) Name() string { return "GNOME" }

func (g gnome) Available(ctx context.Context) error {
	if _, err := exec.LookPath("gsettings"); err != nil {
		return fmt.Errorf("GNOME settings: %w: gsettings is not installed (Debian package libglib2.0-bin)", ErrUnavailable)
	}
	if !sessionBus() {
		return fmt.Errorf("GNOME settings: %w: no session bus (DBUS_SESSION_BUS_ADDRESS), which dconf needs to save them", ErrUnavailable)
	}
	_, _, err := run(ctx, nil, "gsettings", "get", gnomeSchema, "mode")
	switch {
	case err != nil && strings.Contains(err.Error(), "No such schema"):
		return fmt.Errorf("GNOME settings: %w: the proxy schema is not installed (Debian package gsettings-desktop-schemas)", ErrUnavailable)
	case err != nil:
		return fmt.Errorf("GNOME settings: %w: %v", ErrUnavailable, err)
	}
	// Without dconf, GLib 2.74 falls back to a key file under XDG_CONFIG_HOME, which
	// the desktop's programs read as well (they load the same modules); a backend that
	// does not keep the change is caught by Apply, which reads it back in a new process.
	return nil
}

// sessionBus reports whether a session bus is addressed, without starting one.
func sessionBus() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "bus"))
	return err == nil
}

func (g gnome) get(ctx context.Context, key string, env []string) (string, error) {
	out, _, err := run(ctx, env, "gsettings", "get", gnomeSchema, key)
	return strings.TrimSpace(out), err
}

func (g gnome) Read(ctx context.Context) ([]byte, error) {
	// With the memory backend, which holds nothing, gsettings prints the defaults.
	defaults := append(os.Environ(), "GSETTINGS_BACKEND=memory")
	rec := map[string]gnomeValue{}
	for _, k := range gnomeKeys {
		v, err := g.get(ctx, k, nil)
		if err != nil {
			return nil, err
		}
		d, err := g.get(ctx, k, defaults)
		if err != nil {
			return nil, err
		}
		rec[k] = gnomeValue{Value: v, Default: v == d}
	}
	return json.Marshal(rec)
}

func (g gnome) Apply(ctx context.Context, t Target) error {
	if err := checkTarget(t); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"autoconfig-url", gvariantString(t.PACURL())}, {"mode", "'auto'"}} {
		if _, _, err := run(ctx, nil, "gsettings", "set", gnomeSchema, kv[0], kv[1]); err != nil {
			return err
		}
	}
	// Current runs new gsettings processes: without dconf they read the old value.
	st, err := g.Current(ctx, t)
	if err != nil {
		return err
	}
	if !st.PointsAt {
		return fmt.Errorf("failed to set GNOME's proxy: it still reads %s after the change: GNOME's settings are not saved here (install the Debian packages dconf-gsettings-backend and dconf-service)", st.Describe)
	}
	return nil
}

func (g gnome) Restore(ctx context.Context, previous []byte) error {
	var rec map[string]gnomeValue
	if err := json.Unmarshal(previous, &rec); err != nil {
		return fmt.Errorf("failed to read the saved GNOME proxy setting: %w", err)
	}
	var errs []error
	for _, k := range gnomeKeys {
		v, ok := rec[k]
		if !ok {
			continue
		}
		args := []string{"set", gnomeSchema, k, v.Value}
		if v.Default {
			args = []string{"reset", gnomeSchema, k}
		}
		if _, _, err := run(ctx, nil, "gsettings", args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (g gnome) Current(ctx context.Context, t Target) (State, error) {
	mode, err := g.get(ctx, "mode", nil)
	if err != nil {
		return State{}, err
	}
	url, err := g.get(ctx, "autoconfig-url", nil)
	if err != nil {
		return State{}, err
	}
	switch mode {
	case "'auto'":
		if url == "''" {
			return State{Describe: "automatic, found on the network (WPAD)"}, nil
		}
		return State{PointsAt: url == gvariantString(t.PACURL()), Describe: "automatic, from " + strings.Trim(url, `'"`)}, nil
	case "'manual'":
		return State{Describe: "a proxy set by hand"}, nil
	case "'none'":
		return State{Describe: "no proxy"}, nil
	}
	return State{Describe: "mode " + mode}, nil
}

// gvariantString is s in GVariant text, as gsettings set takes it: single quotes, with
// backslash and quote escaped.
func gvariantString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
