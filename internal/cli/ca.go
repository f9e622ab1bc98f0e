package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/convergence-ng/convergence/internal/core"
)

// errStoresLeft marks a ca command that left some trust stores undone; the commands
// to run were printed.
var errStoresLeft = errors.New("some trust stores were not changed")

func caCmd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: ca needs export, install, uninstall or regenerate", ErrUsage)
	}
	switch args[0] {
	case "export":
		_, err := out.Write(c.CA().CertPEM())
		return err
	case "install":
		rs, err := c.InstallCA(ctx)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			fmt.Fprintln(out, "no trust store found: import the certificate from 'convergence ca export' in your browser's settings")
			return nil
		}
		return printTrust(out, "installed in", "not installed in", rs)
	case "uninstall":
		rs, err := c.UninstallCA(ctx)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			fmt.Fprintln(out, "the local CA is in no trust store found")
			return nil
		}
		return printTrust(out, "removed from", "not removed from", rs)
	case "regenerate":
		ca, rs, err := c.ReplaceCA(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "new local CA %q\n", ca.Certificate().Subject.CommonName)
		if len(rs) == 0 {
			fmt.Fprintln(out, "the old one was in no trust store found: trust the new one with 'convergence ca install' (or import 'convergence ca export' in your browser)")
			return nil
		}
		return printTrust(out, "replaced the old one in", "not replaced in", rs)
	}
	return fmt.Errorf("%w: unknown ca command %q", ErrUsage, args[0])
}

// printTrust writes one line per trust store, what was verified or why not (the
// result's Note, as the window says it), with the command to run under each store left
// undone; it returns errStoresLeft when there is one.
func printTrust(out io.Writer, done, notDone string, rs []core.TrustStoreResult) error {
	left := 0
	for _, r := range rs {
		if r.Done() {
			fmt.Fprintf(out, "%s %s: %s\n", done, r.Store, r.Note())
			continue
		}
		left++
		fmt.Fprintf(out, "%s %s: %s\n", notDone, r.Store, r.Note())
		if r.Command != "" {
			fmt.Fprintf(out, "  run: %s\n", r.Command)
		}
	}
	if left > 0 {
		return fmt.Errorf("failed to change %d of %d trust stores: %w", left, len(rs), errStoresLeft)
	}
	return nil
}
