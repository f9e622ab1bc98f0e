// Command labpeer is the end-to-end suite's stand-in for the rest of the internet: a TLS
// site (rotating certificates, SNI virtual hosts), a lying notary, a cleartext service,
// a captive portal, a file server (a notary directory), or a client, run inside a netns.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: labpeer site|liar|get|echo|via|portal|file [flags]")
		return 2
	}
	var err error
	switch args[0] {
	case "site":
		err = runSite(ctx, args[1:])
	case "liar":
		err = runLiar(ctx, args[1:])
	case "get":
		err = runGet(ctx, args[1:])
	case "echo":
		err = runEcho(ctx, args[1:])
	case "via":
		err = runVia(ctx, args[1:])
	case "portal":
		err = runPortal(ctx, args[1:])
	case "file":
		err = runFile(ctx, args[1:])
	default:
		err = fmt.Errorf("unknown mode %q", args[0])
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "labpeer: error: %v\n", err)
		return 1
	}
	return 0
}
