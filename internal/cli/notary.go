package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/verifier"
)

func notaryCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: notary needs add, choose, list, refresh, revoke, enable, disable or remove", ErrUsage)
	}
	switch args[0] {
	case "add":
		return notaryAdd(ctx, c, args[1:], out)
	case "list":
		if err := notaryList(ctx, c, out); err != nil {
			return err
		}
		return printDiversity(ctx, c, out)
	case "choose":
		return notaryChoose(ctx, c, args[1:], out)
	case "refresh":
		if len(args) != 1 {
			return fmt.Errorf("%w: notary refresh takes no arguments", ErrUsage)
		}
		return notaryRefresh(ctx, c, out)
	case "revoke", "enable", "disable", "remove":
		if len(args) != 2 {
			return fmt.Errorf("%w: notary %s takes one NAME", ErrUsage, args[0])
		}
		name := args[1]
		var n int
		var err error
		switch args[0] {
		case "revoke":
			n, err = c.Revoke(ctx, name)
		case "remove":
			n, err = c.RemoveNotary(ctx, name)
		default:
			n, err = c.SetNotaryEnabled(ctx, name, args[0] == "enable")
		}
		if err != nil {
			return err
		}
		verb := map[string]string{"revoke": "revoked", "remove": "removed", "enable": "enabled", "disable": "disabled"}[args[0]]
		fmt.Fprintf(out, "%s %q; %d cached verdicts that needed it were dropped\n", verb, name, n)
		return nil
	}
	return fmt.Errorf("%w: unknown notary command %q", ErrUsage, args[0])
}

// notaryRefresh fetches every notary's bundle again from its https location and
// prints what changed; it fails when any notary failed.
func notaryRefresh(ctx context.Context, c *core.Core, out io.Writer) error {
	report, err := c.RefreshBundles(ctx)
	printRefresh(out, report)
	if err != nil {
		return err
	}
	if n := report.Count(verifier.RefreshFailed); n > 0 {
		return fmt.Errorf("failed to refresh %d of %d notary bundles", n, len(report.Results))
	}
	return nil
}

// printRefresh writes one line per notary and a summary.
func printRefresh(out io.Writer, r verifier.RefreshReport) {
	if len(r.Results) == 0 {
		fmt.Fprintln(out, "no notaries to refresh: none that is not revoked has an https bundle location")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NOTARY\tRESULT\tFROM\tDETAIL")
	for _, res := range r.Results {
		detail := "-"
		if res.Err != nil {
			detail = res.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Notary, res.Status, res.Location, detail)
	}
	tw.Flush()
	fmt.Fprintf(out, "%d updated, %d unchanged, %d failed\n",
		r.Count(verifier.RefreshUpdated), r.Count(verifier.RefreshUnchanged), r.Count(verifier.RefreshFailed))
}

func notaryList(ctx context.Context, c *core.Core, out io.Writer) error {
	ns, err := c.Notaries(ctx)
	if err != nil {
		return err
	}
	if len(ns) == 0 {
		fmt.Fprintln(out, "no notaries yet: add one with 'convergence notary add FILE|URL'")
		return nil
	}
	health, err := c.NotaryHealth(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREGION\tSTATE\tHOSTS\tHEALTH")
	for _, n := range ns {
		state := "enabled"
		switch {
		case n.Revoked:
			state = "revoked " + n.RevokedAt.Format("2006-01-02")
		case !n.Enabled:
			state = "disabled"
		}
		hosts := make([]string, len(n.Hosts))
		for i, h := range n.Hosts {
			hosts[i] = net.JoinHostPort(h.Host, strconv.Itoa(h.SSLPort))
		}
		h, ok := health[n.Name]
		if !ok {
			h.Name = n.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, orDash(n.Region), state, strings.Join(hosts, ","), h.Words(now))
	}
	return tw.Flush()
}

func cacheCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: cache needs list or clear", ErrUsage)
	}
	switch {
	case args[0] == "list" && len(args) == 1:
		es, err := c.CacheEntries(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SITE\tSHA256\tVOUCHED BY\tEXPIRES")
		for _, e := range es {
			fmt.Fprintf(tw, "%s\t%.16s…\t%s\t%s\n", net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), e.FingerprintSHA256,
				strings.Join(e.Vouchers, ","), e.Expires.Local().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case args[0] == "clear" && len(args) == 1:
		n, err := c.ClearCache(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "cleared %d cached verdicts\n", n)
		return nil
	case args[0] == "clear" && len(args) == 2:
		t, err := parseTarget(args[1])
		if err != nil {
			return err
		}
		n, err := c.ClearCacheSite(ctx, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "cleared %d cached verdicts for %s\n", n, t)
		return nil
	}
	return fmt.Errorf("%w: cache takes 'list', 'clear' or 'clear HOST[:PORT]'", ErrUsage)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
