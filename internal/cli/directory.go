package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/directory"
)

func directoryCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "refresh":
		return directoryRefresh(ctx, c, out)
	case len(args) == 1 && args[0] == "list":
		return directoryList(ctx, c, out)
	}
	return fmt.Errorf("%w: directory takes 'refresh' or 'list'", ErrUsage)
}

// directoryRefresh fetches every directory and says what each did; it fails when a
// directory is neither fetched nor held.
func directoryRefresh(ctx context.Context, c *core.Core, out io.Writer) error {
	results, err := c.RefreshDirectories(ctx)
	var unusable []string
	for _, r := range results {
		switch {
		case r.Err == nil:
			fmt.Fprintf(out, "%s: fetched %q issued %s, signed by key %s: %d notaries\n", r.URL, r.Copy.Directory.Name,
				r.Copy.Directory.Issued.Format("2006-01-02 15:04 MST"), r.Copy.KeyID, len(r.Copy.Directory.Entries))
		case r.Copy.Held:
			fmt.Fprintf(out, "%s: %v\n  still using the copy held: %q issued %s, %d notaries\n", r.URL, r.Err, r.Copy.Directory.Name,
				r.Copy.Directory.Issued.Format("2006-01-02 15:04 MST"), len(r.Copy.Directory.Entries))
		default:
			fmt.Fprintf(out, "%s: %v\n  no copy is held\n", r.URL, r.Err)
			unusable = append(unusable, r.URL)
		}
	}
	if err != nil {
		return err
	}
	var failed []error
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Err)
		}
	}
	switch {
	case len(unusable) > 0:
		return fmt.Errorf("failed to fetch %d directories, with no copy held: %s: %w", len(unusable), strings.Join(unusable, ", "), errors.Join(failed...))
	case len(failed) > 0:
		return fmt.Errorf("failed to refresh %d of %d directories (the copies held are still used): %w", len(failed), len(results), errors.Join(failed...))
	}
	return nil
}

// directoryList lists the notaries of the directories held, with what each shares
// with the notaries trusted.
func directoryList(ctx context.Context, c *core.Core, out io.Writer) error {
	copies, err := c.Directories(ctx)
	if err != nil {
		return err
	}
	if len(copies) == 0 {
		return fmt.Errorf("failed to list directories: %w", core.ErrNoDirectories)
	}
	for _, dc := range copies {
		if !dc.Held {
			fmt.Fprintf(out, "%s: %v\n", dc.URL, dc.Err)
			continue
		}
		fmt.Fprintf(out, "%s: %q issued %s, signed by key %s, fetched %s\n", dc.URL, dc.Directory.Name,
			dc.Directory.Issued.Format("2006-01-02 15:04 MST"), dc.KeyID, dc.Fetched.Format("2006-01-02 15:04"))
	}
	entries, err := c.DirectoryEntries(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NOTARY\tOPERATOR\tCOUNTRY\tNETWORK\tHOSTS\tPROTOCOLS\tLISTED\tCONTACT")
	for _, e := range entries {
		f := directory.FactsOf(e.Entry)
		ps := make([]string, len(e.Protocols))
		for i, p := range e.Protocols {
			ps[i] = "v" + strconv.Itoa(p)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name(), e.Operator, e.Country, e.Network,
			strings.Join(f.Hosts, ","), strings.Join(ps, ","), e.Listed, e.Contact)
	}
	return tw.Flush()
}

// notaryChoose picks independent notaries from the directories, shows why, and trusts
// them (unless --dry-run); then warns about the notaries that share something.
func notaryChoose(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	n, dry := directory.DefaultChoose, false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--dry-run":
			dry = true
		case a == "--count" || strings.HasPrefix(a, "--count="):
			v, inline := strings.CutPrefix(a, "--count=")
			if !inline {
				if i+1 == len(args) {
					return fmt.Errorf("%w: --count needs a number", ErrUsage)
				}
				i++
				v = args[i]
			}
			k, err := strconv.Atoi(v)
			if err != nil || k < 1 || k > 50 {
				return fmt.Errorf("%w: --count %q: want a number from 1 to 50", ErrUsage, v)
			}
			n = k
		default:
			return fmt.Errorf("%w: unknown argument %q for notary choose", ErrUsage, a)
		}
	}
	picks, err := c.ChooseNotaries(ctx, n)
	if err != nil {
		return err
	}
	for i, p := range picks {
		fmt.Fprintf(out, "%d. %s (from %q)\n   %s\n", i+1, p.Name(), p.Directory, p.Reason)
	}
	if dry {
		fmt.Fprintln(out, "nothing was added (--dry-run)")
		return nil
	}
	for _, p := range picks {
		if _, err := c.AddDirectoryNotary(ctx, p.DirectoryEntry); err != nil {
			return err
		}
		fmt.Fprintf(out, "added notary %q\n", p.Name())
	}
	return printDiversity(ctx, c, out)
}

// printDiversity warns about each pair of notaries asked that is not independent.
func printDiversity(ctx context.Context, c *core.Core, out io.Writer) error {
	ov, err := c.DiversityWarnings(ctx)
	if err != nil {
		return err
	}
	for _, o := range ov {
		fmt.Fprintf(out, "warning: %s\n", o.Warning())
	}
	return nil
}
