package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
)

// systemProxyCmd is 'convergence system-proxy enable|disable|status'.
func systemProxyCmd(ctx context.Context, c *core.Core, args []string, out, errOut io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: system-proxy needs enable, disable or status", ErrUsage)
	}
	switch args[0] {
	case "enable":
		rs, err := c.EnableSystemProxy(ctx)
		printSystemProxy(out, rs)
		if err != nil {
			return err
		}
		if names := desktopNames(rs, func(r core.SystemProxyResult) bool { return r.Changed }); names != "" {
			fmt.Fprintf(out, "changed: %s; 'convergence system-proxy disable' (or quitting Convergence) puts them back\n", names)
		} else {
			fmt.Fprintln(out, "nothing to change: the desktop already points at Convergence")
		}
		if !proxyAnswers(ctx, c.Listen) {
			fmt.Fprintf(errOut, "convergence: warning: Convergence is not running on %s: sites will not load until it starts (run 'convergence', or 'convergence --headless')\n", c.Listen)
		}
		return nil
	case "disable":
		rs, err := c.DisableSystemProxy(ctx)
		printSystemProxy(out, rs)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			fmt.Fprintln(out, "nothing to put back: Convergence had not changed the system proxy")
		} else if names := desktopNames(rs, func(r core.SystemProxyResult) bool { return r.Changed }); names != "" {
			fmt.Fprintf(out, "put back as they were: %s\n", names)
		}
		return nil
	case "status":
		rs, err := c.SystemProxyStatus(ctx)
		if err != nil {
			return err
		}
		printSystemProxy(out, rs)
		return nil
	}
	return fmt.Errorf("%w: unknown system-proxy command %q", ErrUsage, args[0])
}

// printSystemProxy writes one line per desktop: whether it points at Convergence, and
// what it holds (or why it cannot be used), with the error of one that failed.
func printSystemProxy(out io.Writer, rs []core.SystemProxyResult) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range rs {
		state := "does not point at Convergence"
		switch {
		case !r.Available:
			state = "not available"
		case r.Err != "":
			state = "failed"
		case r.PointsAtUs && r.Changed:
			state = "points at Convergence (changed now)"
		case r.PointsAtUs:
			state = "points at Convergence"
		case r.Changed:
			state = "put back"
		}
		detail := r.Describe
		if r.Err != "" {
			detail = r.Err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Desktop, state, detail)
	}
	tw.Flush()
}

func desktopNames(rs []core.SystemProxyResult, keep func(core.SystemProxyResult) bool) string {
	var names []string
	for _, r := range rs {
		if keep(r) {
			names = append(names, r.Desktop)
		}
	}
	return strings.Join(names, ", ")
}

// proxyAnswers reports whether something accepts connections at addr (the app's proxy,
// as a rule), within a second.
func proxyAnswers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// pauseCmd is 'convergence pause 15m|1h|DURATION|forever'.
func pauseCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: pause takes a duration (15m, 1h, ...) or forever", ErrUsage)
	}
	var d time.Duration
	if args[0] != "forever" {
		var err error
		if d, err = time.ParseDuration(args[0]); err != nil || d <= 0 {
			return fmt.Errorf("%w: %q is not a duration such as 15m or 1h, nor forever", ErrUsage, args[0])
		}
	}
	if err := c.Pause(ctx, d); err != nil {
		return err
	}
	if d == 0 {
		fmt.Fprintln(out, "paused until you resume: sites pass unchecked; 'convergence resume' resumes")
		return nil
	}
	until := c.Status().PausedUntil
	fmt.Fprintf(out, "paused until %s: sites pass unchecked until then; 'convergence resume' resumes sooner\n", until.Local().Format("15:04:05"))
	return nil
}

// resumeCmd is 'convergence resume'.
func resumeCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("%w: resume takes no arguments", ErrUsage)
	}
	if err := c.SetPaused(ctx, false); err != nil {
		return err
	}
	fmt.Fprintln(out, "resumed: sites are checked by your notaries again")
	return nil
}

// systemProxyHint names the fix when no desktop could be set.
func systemProxyHint(err error) string {
	if errors.Is(err, core.ErrNoDesktop) {
		return "the lines above say why each desktop could not be set; or set your browser's proxy by hand to the automatic configuration (PAC) URL http://LISTEN/proxy.pac, LISTEN being the listen address 'convergence settings' shows"
	}
	return ""
}
