package cli

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/settings"
)

// cleartextCmd edits the destinations to which the proxy opens tunnels that are not
// TLS, unchecked (settings.Settings.CleartextAllow): 'cleartext allow|remove HOST:PORT'
// and 'cleartext list'.
func cleartextCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) == 1 && args[0] == "list" {
		s, err := c.Settings(ctx)
		if err != nil {
			return err
		}
		if len(s.CleartextAllow) == 0 {
			fmt.Fprintln(out, "no cleartext tunnels are allowed: every stream that is not TLS is refused")
			return nil
		}
		for _, e := range s.CleartextAllow {
			fmt.Fprintln(out, e)
		}
		return nil
	}
	if len(args) != 2 || (args[0] != "allow" && args[0] != "remove") {
		return fmt.Errorf("%w: cleartext takes allow HOST:PORT, remove HOST:PORT or list", ErrUsage)
	}
	entry, err := settings.CanonicalHostPort(args[1])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	changed := false
	_, err = c.UpdateSettings(ctx, func(s *settings.Settings) error {
		has := slices.Contains(s.CleartextAllow, entry)
		switch {
		case args[0] == "allow" && !has:
			s.CleartextAllow, changed = append(slices.Clone(s.CleartextAllow), entry), true
		case args[0] == "remove" && has:
			s.CleartextAllow, changed = slices.DeleteFunc(slices.Clone(s.CleartextAllow), func(e string) bool { return e == entry }), true
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case !changed && args[0] == "allow":
		fmt.Fprintf(out, "%s is already allowed\n", entry)
		return nil
	case !changed:
		fmt.Fprintf(out, "%s was not allowed\n", entry)
		return nil
	}
	if args[0] == "allow" {
		fmt.Fprintf(out, "allowed %s: streams that are not TLS to it pass unchecked (each is shown in Activity)\n", entry)
	} else {
		fmt.Fprintf(out, "removed %s: streams that are not TLS to it are refused\n", entry)
	}
	return nil
}
