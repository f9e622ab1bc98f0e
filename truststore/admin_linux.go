//go:build linux

package truststore

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// shell is the shell that runs a system store's change as root: one program for
// pkexec to start, so that the password is asked for once per change.
const shell = "/bin/sh"

// Exit statuses of the scripts run as root, chosen apart from pkexec's own 126 and
// 127 (and a shell's 126/127 for a command it cannot run), which then mean only that
// the password was not given.
const (
	exitCopy   = 10 // the file copy or removal failed
	exitUpdate = 11 // the bundle update failed
)

// asRoot runs script in a shell with args ($1...), as root: directly when this process
// is root, otherwise through pkexec, which asks for the administrator password with
// the desktop's polkit agent (or on the terminal it runs from). The polkit prompt then
// names /bin/sh: an action of our own with its own message would need a policy file
// installed under /usr/share/polkit-1/actions, which a binary built from source cannot
// ship. what says what the change does, for errors.
//
// A cancelled prompt (126) is ErrCancelled and a refusal or a missing agent (127) is
// ErrNotAuthorized: nothing ran as root. While the prompt is open, a cancelled ctx
// cannot end pkexec (it is setuid root and ignores our signal): the call returns when
// the person answers the prompt.
func (s linuxStore) asRoot(ctx context.Context, what, script string, args []string) error {
	argv := append([]string{shell, "-c", script, "sh"}, args...)
	if s.asUser {
		pk, err := exec.LookPath("pkexec")
		if err != nil {
			return fmt.Errorf("failed to %s: pkexec not found to ask for the administrator password (install pkexec, or run the command below): %w", what, ErrNeedsRoot)
		}
		argv = append([]string{pk}, argv...)
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err == nil {
		return nil
	}
	said := strings.TrimSpace(string(out))
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("failed to %s: %w", what, err)
	}
	switch code := ee.ExitCode(); {
	case s.asUser && code == 126:
		return fmt.Errorf("failed to %s: %w: nothing was changed", what, ErrCancelled)
	case s.asUser && code == 127:
		return fmt.Errorf("failed to %s: %w (a wrong password, or no polkit agent running to ask for it): nothing was changed: %s", what, ErrNotAuthorized, said)
	case code == exitCopy:
		return fmt.Errorf("failed to %s: the file could not be changed in %q: %s", what, s.dir, said)
	case code == exitUpdate:
		return fmt.Errorf("failed to %s: %q failed: %s", what, strings.Join(s.update, " "), said)
	default:
		return fmt.Errorf("failed to %s: %w: %s", what, err, said)
	}
}
