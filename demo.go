package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/convergence-ng/convergence/internal/cli"
	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/internal/demo"
)

// runDemo is 'convergence demo': the demo's world on loopback and the app on its
// throw-away data dir, with its window unless headless. Headless, it visits both
// sites, reports and ends (exit 0 when both came out as they should); with the window,
// it visits them once the window shows and runs until the window is closed.
func runDemo(ctx context.Context, log *slog.Logger, headless bool) int {
	s, err := demo.Open(ctx, log)
	if err != nil {
		return fail(err)
	}
	cli.Notef(os.Stderr, "demo: three notaries, an honest site and an attacked one, all on 127.0.0.1; the app's data dir %s is removed at the end", s.Demo.DataDir())
	if headless {
		logEvents(s.Core, log)
		code := demoHeadless(ctx, s)
		if err := s.Close(); err != nil {
			return fail(err)
		}
		return code
	}
	code := runGUI(ctx, func(context.Context) (*core.Core, error) { return s.Core, nil }, log, guiOptions{
		dataDir: s.Demo.DataDir(), noTray: true,
		serve: func(ctx context.Context, _ *core.Core) error { return s.Serve(ctx) },
		shown: func(ctx context.Context, _ *core.Core) {
			if vs, err := s.Visit(ctx); err != nil {
				cli.PrintError(os.Stderr, err)
			} else {
				demo.Report(os.Stdout, vs)
			}
		},
	})
	if err := s.CloseWorld(); err != nil {
		return fail(err)
	}
	return code
}

// demoHeadless serves the demo's proxy, visits both sites and reports.
func demoHeadless(ctx context.Context, s *demo.Session) int {
	ctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }() // ends with stop, below
	vs, err := s.Visit(ctx)
	stop()
	if serr := <-served; err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return fail(err)
	}
	return demo.Report(os.Stdout, vs)
}
