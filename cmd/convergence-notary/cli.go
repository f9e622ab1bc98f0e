package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// usageError is a mistake on the command line: printed with a hint, exit status 2.
type usageError struct {
	msg, hint string
}

func (e *usageError) Error() string { return e.msg }

func usage(hint, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), hint: hint}
}

const topUsage = `usage: convergence-notary <command> [flags]

commands:
  serve      run the notary (HTTPS, protocols v1 and v2)
  bundle     print this notary's .notary bundle for clients to import
  keygen     create a notary key and certificate (once, for a fleet's members to share)
  directory  make, sign and check notary directories (keygen, entry, sign, verify)

Run "convergence-notary <command> -h" for the flags of a command.`

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "convergence-notary: error: %s\n", ue.msg)
		if ue.hint != "" {
			fmt.Fprintf(stderr, "hint: %s\n", ue.hint)
		}
		return 2
	}
	fmt.Fprintf(stderr, "convergence-notary: error: %v\n", err)
	return 1
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usage(`run "convergence-notary serve --data DIR" to start a notary`, "no command given\n\n%s", topUsage)
	}
	switch args[0] {
	case "serve":
		cfg, err := parseServe(args[1:], stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stderr)
	case "bundle":
		cfg, err := parseBundle(args[1:], stderr)
		if err != nil {
			return err
		}
		return printBundle(cfg, stdout)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "directory":
		return directoryCmd(args[1:], stdout, stderr, time.Now())
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, topUsage)
		return nil
	}
	return usage(`the commands are "serve", "bundle", "keygen" and "directory"`, "unknown command %q", args[0])
}

// listFlag is a repeatable string flag; it also accepts comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func parsePrefixes(flagName string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			if a, aerr := netip.ParseAddr(v); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, usage("give a CIDR such as 10.20.0.0/16 or ::1/128", "bad --%s %q", flagName, v)
			}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func parsePorts(vals []string) ([]int, error) {
	var out []int
	for _, v := range vals {
		lo, hi, isRange := strings.Cut(v, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b || b-a > 1024 {
			return nil, usage("give a port (8444) or a small range (9000-9010)", "bad --allow-port %q", v)
		}
		for p := a; p <= b; p++ {
			out = append(out, p)
		}
	}
	return out, nil
}

func positive(name string, d time.Duration) error {
	if d <= 0 {
		return usage("give a duration such as 30s or 1h", "--%s must be positive, got %s", name, d)
	}
	return nil
}
