// Package sysproxy points the desktop's proxy settings at the local proxy and puts back
// exactly what was there: GNOME's settings, KDE's kioslaverc and environment.d.
package sysproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// Errors callers branch on.
var (
	// ErrUnavailable means a mechanism cannot be used here (its desktop's tools are
	// not installed, no session bus); the error says which and how to get it.
	ErrUnavailable = errors.New("not available here")
	// ErrUnsupported means this platform has no mechanism this package knows.
	ErrUnsupported = errors.New("setting the system proxy is not supported on this platform")
)

// Target is where the desktop's settings point: the proxy at a loopback address.
type Target struct {
	Addr string // host:port of the proxy
}

// TargetFor returns the target for the proxy listening on addr (host:port).
func TargetFor(addr string) Target { return Target{Addr: addr} }

// PACURL is the proxy auto-config file the proxy serves, for the desktops that take one.
func (t Target) PACURL() string { return "http://" + t.Addr + "/proxy.pac" }

// ProxyURL is the proxy itself, for the programs that read http_proxy and https_proxy.
func (t Target) ProxyURL() string { return "http://" + t.Addr }

// State is what a mechanism holds now.
type State struct {
	PointsAt bool   // it points at the target asked about
	Describe string // what it holds, in plain words, e.g. "automatic, from http://..."
}

// Mechanism is one place desktops read their proxy from. Its methods run the
// desktop's own tools and may block until ctx is done; they are safe for concurrent
// use but a mechanism's changes should not be interleaved.
type Mechanism interface {
	// ID names the mechanism in the store: "gnome", "kde", "environment".
	ID() string
	// Name names, in a word or two, the desktop or programs that follow it: "GNOME",
	// "KDE", "terminal programs".
	Name() string
	// Available returns nil when the mechanism can be used here, else an error that
	// matches ErrUnavailable and says why.
	Available(ctx context.Context) error
	// Read returns a record of what the mechanism holds now, for Restore.
	Read(ctx context.Context) ([]byte, error)
	// Apply points the mechanism at t and checks that it took.
	Apply(ctx context.Context, t Target) error
	// Restore puts back exactly what Read recorded.
	Restore(ctx context.Context, previous []byte) error
	// Current says what the mechanism holds now, and whether that points at t.
	Current(ctx context.Context, t Target) (State, error)
}

// Mechanisms returns this platform's mechanisms in the order they are changed; none
// on a platform this package does not support (Supported says so).
func Mechanisms() []Mechanism { return mechanisms() }

// Supported returns nil on a platform with mechanisms, else ErrUnsupported.
func Supported() error {
	if len(mechanisms()) == 0 {
		return ErrUnsupported
	}
	return nil
}

// run runs a desktop tool and returns its stdout; a failure carries its stderr.
func run(ctx context.Context, env []string, name string, args ...string) (string, string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env // nil: this process's environment
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return stdout.String(), stderr.String(), fmt.Errorf("failed to run %s %s: %w", name, strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), nil
}

// checkTarget refuses a target that is not a loopback host:port: the settings written
// here send every site the user visits to it.
func checkTarget(t Target) error {
	host, _, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return fmt.Errorf("failed to use proxy address %q: %w", t.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("failed to use proxy address %q: not a loopback address", t.Addr)
	}
	return nil
}
