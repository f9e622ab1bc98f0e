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

// kde is KDE Plasma's proxy setting: group "Proxy Settings" of kioslaverc in the
// user's config dir, read by KDE's programs and by Chromium and Firefox on KDE. It is
// written with KDE's own kwriteconfig6 (Plasma 6) or kwriteconfig5 (Plasma 5), so the
// file keeps KDE's format and everything else in it. ProxyType 2 is "use this proxy
// configuration script" (0 none, 1 manual, 3 WPAD, 4 environment).
type kde struct{}

const (
	kdeFile  = "kioslaverc"
	kdeGroup = "Proxy Settings"
	kdePAC   = "2"
)

// kdeKeys are the keys Apply changes, in the order Restore writes them (the type
// last).
var kdeKeys = []string{"Proxy Config Script", "ProxyType"}

// kdeValue is one key as it was; Absent keys are deleted again by Restore.
type kdeValue struct {
	Value  string `json:"value"`
	Absent bool   `json:"absent"`
}

// kdeRecord is the setting as it was: its keys, and whether kioslaverc existed (a file
// kwriteconfig made, left empty by the deletes, is removed again).
type kdeRecord struct {
	Keys       map[string]kdeValue `json:"keys"`
	FileExists bool                `json:"file_exists"`
}

// path is the kioslaverc that kwriteconfig writes (QStandardPaths' config location).
func (kde) path() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("KDE settings: %w: %v", ErrUnavailable, err)
	}
	return filepath.Join(dir, kdeFile), nil
}

func (kde) ID() string   { return "kde" }
func (kde) Name() string { return "KDE" }

// tools returns the kwriteconfig and kreadconfig to use, the newest pair installed.
func (kde) tools() (write, read string, err error) {
	for _, v := range []string{"6", "5"} {
		w, errW := exec.LookPath("kwriteconfig" + v)
		r, errR := exec.LookPath("kreadconfig" + v)
		if errW == nil && errR == nil {
			return w, r, nil
		}
	}
	return "", "", fmt.Errorf("KDE settings: %w: kwriteconfig6 or kwriteconfig5 is not installed (Debian package libkf5config-bin; on KDE Plasma it comes with the desktop)", ErrUnavailable)
}

func (k kde) Available(context.Context) error {
	_, _, err := k.tools()
	return err
}

// kdeAbsent is the default kreadconfig is given: it prints it for a missing key only
// (a key present and empty prints empty).
const kdeAbsent = "convergence-key-absent"

// read returns a key's value, or that it is absent.
func (k kde) read(ctx context.Context, key string) (kdeValue, error) {
	_, r, err := k.tools()
	if err != nil {
		return kdeValue{}, err
	}
	out, _, err := run(ctx, nil, r, "--file", kdeFile, "--group", kdeGroup, "--key", key, "--default", kdeAbsent)
	if err != nil {
		return kdeValue{}, err
	}
	out = strings.TrimSuffix(out, "\n")
	if out == kdeAbsent {
		return kdeValue{Absent: true}, nil
	}
	return kdeValue{Value: out}, nil
}

func (k kde) Read(ctx context.Context) ([]byte, error) {
	p, err := k.path()
	if err != nil {
		return nil, err
	}
	rec := kdeRecord{Keys: map[string]kdeValue{}}
	if _, err := os.Stat(p); err == nil {
		rec.FileExists = true
	}
	for _, key := range kdeKeys {
		v, err := k.read(ctx, key)
		if err != nil {
			return nil, err
		}
		rec.Keys[key] = v
	}
	return json.Marshal(rec)
}

func (k kde) write(ctx context.Context, key string, v kdeValue) error {
	w, _, err := k.tools()
	if err != nil {
		return err
	}
	args := []string{"--file", kdeFile, "--group", kdeGroup, "--key", key}
	if v.Absent {
		args = append(args, "--delete")
	} else {
		args = append(args, v.Value)
	}
	_, _, err = run(ctx, nil, w, args...)
	return err
}

func (k kde) Apply(ctx context.Context, t Target) error {
	if err := checkTarget(t); err != nil {
		return err
	}
	if err := k.write(ctx, "Proxy Config Script", kdeValue{Value: t.PACURL()}); err != nil {
		return err
	}
	if err := k.write(ctx, "ProxyType", kdeValue{Value: kdePAC}); err != nil {
		return err
	}
	k.tellKIO(ctx)
	st, err := k.Current(ctx, t)
	if err != nil {
		return err
	}
	if !st.PointsAt {
		return fmt.Errorf("failed to set KDE's proxy: it still reads %s after the change", st.Describe)
	}
	return nil
}

func (k kde) Restore(ctx context.Context, previous []byte) error {
	var rec kdeRecord
	if err := json.Unmarshal(previous, &rec); err != nil {
		return fmt.Errorf("failed to read the saved KDE proxy setting: %w", err)
	}
	var errs []error
	for _, key := range kdeKeys {
		if v, ok := rec.Keys[key]; ok {
			errs = append(errs, k.write(ctx, key, v))
		}
	}
	if p, err := k.path(); err == nil && !rec.FileExists {
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == "" {
			if err := os.Remove(p); err != nil {
				errs = append(errs, fmt.Errorf("failed to remove %q: %w", p, err))
			}
		}
	}
	k.tellKIO(ctx)
	return errors.Join(errs...)
}

// tellKIO asks KDE's running programs to read the proxy settings again, as KDE's own
// settings page does; best effort (no KDE session, no dbus-send: nothing to tell).
func (kde) tellKIO(ctx context.Context) {
	if _, err := exec.LookPath("dbus-send"); err != nil || !sessionBus() {
		return
	}
	_, _, _ = run(ctx, nil, "dbus-send", "--session", "--type=signal", "/KIO/Scheduler",
		"org.kde.KIO.Scheduler.reparseSlaveConfiguration", "string:")
}

func (k kde) Current(ctx context.Context, t Target) (State, error) {
	typ, err := k.read(ctx, "ProxyType")
	if err != nil {
		return State{}, err
	}
	script, err := k.read(ctx, "Proxy Config Script")
	if err != nil {
		return State{}, err
	}
	switch typ.Value {
	case kdePAC:
		return State{PointsAt: script.Value == t.PACURL(), Describe: "automatic, from " + script.Value}, nil
	case "1":
		return State{Describe: "a proxy set by hand"}, nil
	case "3":
		return State{Describe: "automatic, found on the network (WPAD)"}, nil
	case "4":
		return State{Describe: "the proxy in the environment"}, nil
	}
	return State{Describe: "no proxy"}, nil
}
