// Command seedhistory fills a data dir's event history with realistic verdicts, written
// as the app writes them, so the app's memory can be measured with a full Activity list.
//
// Usage: go run ./internal/testsupport/seedhistory --data-dir DIR [--n 10000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags, seeds the history and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seedhistory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "", "the app's data dir to fill (created when missing; its history must be empty)")
	n := fs.Int("n", settings.DefaultEventCap, "how many rows of history to write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: seedhistory --data-dir DIR [--n N]")
		return 2
	}
	start := time.Now()
	if err := seed(ctx, *dir, *n, start); err != nil {
		fmt.Fprintf(stderr, "seedhistory: error: %v\n", err)
		if errors.Is(err, errNotEmpty) { // a *settings.DirError already names its fix
			fmt.Fprintln(stderr, "hint: pass --data-dir a new or empty directory")
		}
		return 1
	}
	fmt.Fprintf(stdout, "seeded %d rows of history in %s (%s)\n", *n, *dir, time.Since(start).Round(time.Millisecond))
	return 0
}
