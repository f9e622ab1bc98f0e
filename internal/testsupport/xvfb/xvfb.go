// Package xvfb starts a private X display for tests that run the real app, and lists
// the app's windows on it as a desktop would see them.
package xvfb

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ErrMissing says Xvfb is not installed; callers skip their tests with it.
var ErrMissing = errors.New("xvfb is not installed (scripts/deps.sh test installs it)")

// Display is a running Xvfb.
type Display struct {
	Name string // e.g. ":3", for DISPLAY
	cmd  *exec.Cmd
}

// Start starts Xvfb on a display number it picks among the free ones (-displayfd), and
// returns once it accepts clients (at most 20 s).
func Start() (*Display, error) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, ErrMissing
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(bin, "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1024x768x24")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("failed to start Xvfb: %w", err)
	}
	w.Close()
	line := make(chan string, 1)
	go func() { // ends when Xvfb writes its display number or exits (closing the pipe)
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, errors.New("failed to start Xvfb: it gave no display number")
		}
		return &Display{Name: ":" + n, cmd: cmd}, nil
	case <-time.After(60 * time.Second): // a guard against a hang only: Xvfb has taken over 20 s to start on a loaded machine
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("failed to start Xvfb: no display after 60 s")
	}
}

// Stop ends the display.
func (d *Display) Stop() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

// Windows lists the IDs of the top-level windows whose title starts with prefix, and
// whether each is mapped (shown). It needs xwininfo (x11-utils).
func (d *Display) Windows(prefix string) (map[string]bool, error) {
	out, err := d.xwininfo("-root", "-tree")
	if err != nil {
		return nil, err
	}
	wins := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "0x") || !strings.HasPrefix(f[1], `"`+prefix) {
			continue
		}
		info, err := d.xwininfo("-id", f[0])
		if err != nil {
			continue // gone meanwhile
		}
		wins[f[0]] = strings.Contains(info, "Map State: IsViewable")
	}
	return wins, nil
}

// Shown reports whether a window whose title starts with prefix is mapped.
func (d *Display) Shown(prefix string) (bool, error) {
	wins, err := d.Windows(prefix)
	for _, viewable := range wins {
		if viewable {
			return true, err
		}
	}
	return false, err
}

func (d *Display) xwininfo(args ...string) (string, error) {
	cmd := exec.Command("xwininfo", append([]string{"-display", d.Name}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("failed to run xwininfo %s (scripts/deps.sh test installs x11-utils): %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}
