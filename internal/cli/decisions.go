package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/verifier"
)

// decisionsCmd lists and removes the user's decisions (core.Decisions), the same list
// as the window's "Your decisions" tab: 'decisions list', 'decisions remove ID' and
// 'decisions trust HOST[:PORT] SHA256 --for DURATION'.
func decisionsCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "list"):
		ds, err := c.Decisions(ctx)
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			fmt.Fprintln(out, "no decisions: the notaries decide every site")
			fmt.Fprintln(out, allowanceNote)
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDECISION\tMADE\tLASTS\tWHY")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.What, d.MadeWords(), d.Lasts(), d.Why)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(out, allowanceNote)
		return nil
	case (len(args) == 2 || (len(args) == 3 && args[2] == "--yes")) && args[0] == "remove":
		if err := confirmRemove(ctx, c, args[1], len(args) == 3); err != nil {
			return err
		}
		d, err := c.RemoveDecision(ctx, args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s (%s): %s\n", d.ID, d.What, d.RemoveWords())
		return nil
	case len(args) >= 1 && args[0] == "trust":
		return trustCmd(ctx, c, args[1:], out)
	case len(args) == 2 && args[0] == "passthrough":
		return passthroughCmd(ctx, c, args[1], out)
	}
	return fmt.Errorf("%w: decisions takes list, remove ID [--yes], trust HOST[:PORT] SHA256 --for %s or passthrough HOST[:PORT]", ErrUsage, durationChoices())
}

// errTrustsAgain refuses to end a notary's revocation without --yes: that trusts it again.
var errTrustsAgain = errors.New("removing this decision trusts the notary again")

// confirmRemove refuses, without yes, to remove a revocation: the window asks first.
func confirmRemove(ctx context.Context, c *core.Core, id string, yes bool) error {
	if yes {
		return nil
	}
	ds, err := c.Decisions(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.ID == strings.TrimSpace(id) && d.Kind == core.DecisionRevoked {
			return fmt.Errorf("failed to remove decision %q (%s): %w", id, d.What, errTrustsAgain)
		}
	}
	return nil
}

// trustCmd is 'decisions trust HOST[:PORT] SHA256 --for DURATION': trust a certificate
// anyway, this certificate only. The duration has no default: the user says it.
func trustCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	var pos []string
	var d core.TrustDuration
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--for" && i+1 < len(args):
			d = core.TrustDuration(args[i+1])
			i++
		case strings.HasPrefix(a, "--for="):
			d = core.TrustDuration(strings.TrimPrefix(a, "--for="))
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 || d == "" {
		return fmt.Errorf("%w: decisions trust takes HOST[:PORT] SHA256 --for %s", ErrUsage, durationChoices())
	}
	t, err := parseTarget(pos[0])
	if err != nil {
		return err
	}
	if t.Host, err = protocol.NormalizeHost(t.Host); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	err = c.TrustAnyway(ctx, verifier.Verdict{Target: t, FingerprintSHA256: pos[1]}, core.ScopeCertificate, d, "you trusted it anyway, from the terminal")
	if errors.Is(err, core.ErrTrust) {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "trusted this certificate only, for %s: %s (see 'convergence decisions list')\n", t, strings.ToLower(d.Words()))
	return nil
}

// passthroughCmd is 'decisions passthrough HOST[:PORT]': verify that host:port (443
// when no port is given, as 'decisions trust') without reading the connection.
func passthroughCmd(ctx context.Context, c *core.Core, arg string, out io.Writer) error {
	t, err := parseTarget(arg)
	if err != nil {
		return err
	}
	if t.Host, err = protocol.NormalizeHost(t.Host); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err := c.VerifyWithoutReading(ctx, t.Host, t.Port, "you chose it, from the terminal"); err != nil {
		return err
	}
	fmt.Fprintf(out, "verifying %s without reading: the notaries check the certificate Convergence sees, and your app's connection passes untouched (see 'convergence decisions list')\n", t)
	fmt.Fprintf(out, "cost: %s\n", core.PassthroughCost)
	return nil
}

// allowanceNote says what the terminal cannot list: allowances live in the running app.
const allowanceNote = "(sites let through for a while from the block page live in the running app: its window lists them under Your decisions)"

// durationChoices lists the durations, for usage lines.
func durationChoices() string {
	var s []string
	for _, d := range core.TrustDurations {
		s = append(s, string(d))
	}
	return strings.Join(s, "|")
}
