// Command convergence is the desktop app: a tray icon and window over a local verifying
// proxy that trusts a site's certificate only when the user's notaries agree.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"fyne.io/fyne/v2/app"
	"github.com/godbus/dbus/v5"

	"github.com/convergence-ng/convergence/internal/cli"
	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/internal/instance"
	_ "github.com/convergence-ng/convergence/internal/localefix" // before Fyne's init: see its doc
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/ui"
	"github.com/convergence-ng/convergence/verifier"
)

// The application is the window's backend: the window and the terminal share its
// operations.
var _ ui.Backend = (*core.Core)(nil)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("convergence", flag.ContinueOnError)
	headless := fs.Bool("headless", false, "run the proxy without a window or tray (with demo: the demo without its window)")
	dataDir := fs.String("data-dir", "", "where settings, notaries and the cache are kept (default: $CONVERGENCE_HOME, else the OS's data dir)")
	listen := fs.String("listen", "", "the proxy's loopback address, e.g. 127.0.0.1:8118 (default: the stored setting)")
	background := fs.Bool("background", false, "start in the system tray without opening the window (how the app starts at login)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	flagHelp := cli.FlagHelp(fs)
	fs.SetOutput(io.Discard) // a mistake is one line and a hint (cli.FlagError), not the usage
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(cli.Usage, flagHelp)
			return cli.ExitOK
		}
		return cli.FlagError(os.Stderr, err, args)
	}
	if *showVersion {
		fmt.Println("convergence", version)
		return cli.ExitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "demo" {
		if len(rest) > 1 {
			return cli.UsageError(os.Stderr, "demo takes no arguments (--headless goes before it)")
		}
		return runDemo(ctx, log, *headless || !hasDisplay())
	}
	dir, err := settings.DataDir(*dataDir)
	if err != nil {
		return fail(err)
	}
	// openWith opens the app's parts on the data dir, logging to l.
	openWith := func(l *slog.Logger, noCA bool) func(context.Context) (*core.Core, error) {
		return func(ctx context.Context) (*core.Core, error) {
			return core.Open(ctx, core.Options{DataDir: dir, Listen: *listen, Logger: l, NoCA: noCA})
		}
	}
	open := openWith(log, false)
	if len(rest) > 0 {
		if !cli.IsCommand(rest) {
			return cli.UsageError(os.Stderr, fmt.Sprintf("unknown command %q", rest[0]))
		}
		quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		return cli.Run(ctx, rest, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, FlagHelp: flagHelp,
			Open: func(ctx context.Context, noCA bool) (*core.Core, error) { return openWith(quiet, noCA)(ctx) }})
	}
	if *headless {
		return runHeadless(ctx, open, log)
	}
	if !hasDisplay() {
		return fail(errNoDisplay)
	}
	return runGUI(ctx, open, log, guiOptions{background: *background, dataDir: dir, dataDirFlag: *dataDir})
}

// guiOptions are the command-line choices that shape the desktop app.
type guiOptions struct {
	background  bool   // stay in the tray at start, when there is a tray
	dataDir     string // the data dir in use
	dataDirFlag string // --data-dir as given, for the command started at login
	// noTray runs without the tray (closing the window quits), as the demo does.
	noTray bool
	// serve runs the proxy until ctx ends; nil is c.Serve.
	serve func(ctx context.Context, c *core.Core) error
	// shown, when set, runs on a goroutine of its own once the window shows and the
	// proxy serves, and must end with ctx.
	shown func(ctx context.Context, c *core.Core)
}

// runHeadless serves the proxy until SIGINT or SIGTERM, logging one line per verdict.
func runHeadless(ctx context.Context, open func(context.Context) (*core.Core, error), log *slog.Logger) int {
	c, err := open(ctx)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	warnStartup(c, log)
	c.OnNotice(func(n core.Notice) { logNotice(log, n) })
	ln, err := c.ListenProxy(ctx)
	if err != nil {
		// Nothing serves here: what a run that did not quit left pointing at this
		// address is put back, unless another Convergence serves there.
		c.RunSystemProxy(ctx)
		return fail(err)
	}
	logEvents(c, log)
	// Refreshes the notaries' bundles about daily; ends with ctx, or at c.Close.
	go c.RunBundleRefresh(ctx)
	// Applies what the terminal changes in the store; ends with ctx, or at c.Close.
	go c.RunStoreWatch(ctx)
	// Ends a pause with an end, and says so; ends with ctx, or at c.Close.
	go c.RunPauseTimer(ctx)
	// Settles the desktop's proxy settings, the proxy listening; ends then.
	go c.RunSystemProxy(ctx)
	addr := ln.Addr().String()
	log.Info("proxy listening", "addr", addr, "pac", "http://"+addr+"/proxy.pac", "data_dir", c.DataDir)
	err = c.ServeOn(ctx, ln)
	// SIGTERM is a Quit: the desktop's proxy settings go back as they were.
	logNotice(log, c.QuitSystemProxy(context.Background()))
	if err != nil {
		return fail(err)
	}
	log.Info("stopped")
	return 0
}

// logEvents logs one line per verdict and per alert the app publishes.
func logEvents(c *core.Core, log *slog.Logger) {
	c.Subscribe(func(ev verifier.Event) {
		v := ev.Verdict
		switch ev.Kind {
		case verifier.EventVerified, verifier.EventRejected:
			log.Info("verdict", "site", v.Target.String(), "outcome", v.Outcome.String(), "source", string(v.Source),
				"agreed", v.Agreed, "asked", v.Asked, "undecided", v.Undecided, "code", string(v.Code), "reason", v.Reason)
		case verifier.EventDisagree:
			log.Warn("notaries disagree", "site", v.Target.String(), "agreed", v.Agreed, "asked", v.Asked)
		case verifier.EventNotaryUnreachable:
			log.Warn("notary failed", "notary", ev.Notary, "site", v.Target.String())
		case verifier.EventNotaryImpersonated:
			log.Warn("notary impersonated", "notary", ev.Notary, "site", v.Target.String(),
				"alert", fmt.Sprintf("someone is impersonating notary %q on this network", ev.Notary))
		}
	})
}

// logNotice writes what the app says unasked as a log line.
func logNotice(log *slog.Logger, n core.Notice) {
	log.Info(n.Title, "notice", n.Kind, "detail", n.Body)
}

// runGUI shows the window and the tray (when a session bus exists) and serves the
// proxy until the app quits or a signal arrives.
func runGUI(ctx context.Context, open func(context.Context) (*core.Core, error), log *slog.Logger, o guiOptions) int {
	inst, err := instance.Claim(o.dataDir)
	switch {
	case errors.Is(err, instance.ErrRunning):
		return activateRunning(ctx, o, log)
	case err != nil: // no usable session bus: run unguarded, as before
		log.Debug("running without the single-instance guard", "err", err)
	default:
		defer inst.Close()
	}
	c, err := open(ctx)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	warnStartup(c, log)

	a := app.NewWithID("org.convergence.desktop")
	tray := !o.noTray && hasSessionBus()
	notices := startupNotices(c)
	inTray := o.background && tray && len(notices) == 0
	u := ui.New(a, c, ui.Options{Tray: tray, InTray: inTray, Notices: notices, Keyring: c.Fallback, AutostartExec: loginCommand(o.dataDirFlag)})
	c.Subscribe(u.Publish)
	if inst != nil { // a second start shows this window
		inst.OnActivate(func() { u.Do(u.Show) })
	}

	proxyCtx, stopProxy := context.WithCancel(context.Background())
	// Refreshes the notaries' bundles about daily; ends with proxyCtx, or at c.Close.
	go c.RunBundleRefresh(proxyCtx)
	// Applies what the terminal changes in the store, and shows it; ends with proxyCtx,
	// or at c.Close.
	c.OnStoreChange(func() { u.Do(u.Reload) })
	// Shows a full disk (and its end) in the tray and the window.
	c.OnStatusChange(func() { u.Do(u.RefreshStatus) })
	go c.RunStoreWatch(proxyCtx)
	serve := o.serve
	if serve == nil {
		serve = func(ctx context.Context, c *core.Core) error { return c.Serve(ctx) }
	}
	// Says a pause ended, or what the start did with the desktop's proxy settings.
	c.OnNotice(u.Tell)
	// Ends a pause with an end; ends with proxyCtx, or at c.Close.
	go c.RunPauseTimer(proxyCtx)
	// Settles the desktop's proxy settings once the proxy listens; ends then.
	go c.RunSystemProxy(proxyCtx)
	served := make(chan struct{})
	go func() { // ends when proxyCtx is cancelled, after the app quits
		defer close(served)
		if err := serve(proxyCtx, c); err != nil {
			log.Error("proxy stopped", "err", err) // Serve keeps it for the tray and Setup
			u.Do(u.Reload)
		}
	}()
	quit := make(chan struct{})
	go func() { // quits the app on SIGINT/SIGTERM; ends then or when the app quits
		select {
		case <-ctx.Done():
			u.QuitFromSignal()
		case <-quit:
		}
	}()
	run := true
	if inTray {
		run = u.RunInTray(ctx) // until a window is needed; false: the app ended first
	} else {
		u.Show()
	}
	shown := make(chan struct{})
	if o.shown != nil && run {
		go func() { // ends with proxyCtx, after the app quits
			defer close(shown)
			o.shown(proxyCtx, c)
		}()
	} else {
		close(shown)
	}
	// Quit: the desktop's proxy settings go back as they were, while the proxy still
	// serves, and a notification says protection is off. Once, from main after the loop,
	// or from the rescue below when Fyne's loop does not return.
	finish := sync.OnceFunc(func() {
		u.Ended()
		u.TellNow(c.QuitSystemProxy(context.Background()))
		close(quit)
		stopProxy()
		<-shown
		<-served
		u.Close()
	})
	if run {
		u.Run(ui.TeardownBound, func(stacks []byte) {
			log.Warn("the window system did not end after Quit (a race in Fyne's teardown, ui/teardown.go); quitting without it",
				"waited", ui.TeardownBound, "goroutines", string(stacks))
			finish()
			os.Exit(0) // every write is committed: the store is left as a crash leaves it, which the next start handles
		})
	}
	finish()
	return 0
}

// activateRunning is a start on a data dir another instance runs on: it asks that one
// to show its window (unless this start is the one at login, which has nothing to show)
// and ends.
func activateRunning(ctx context.Context, o guiOptions, log *slog.Logger) int {
	if o.background {
		log.Info("Convergence is already running on this data dir; nothing to start", "data_dir", o.dataDir)
		return 0
	}
	if err := instance.Activate(ctx, o.dataDir); err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "convergence: already running on %s; its window was brought to the front\n", o.dataDir)
	return 0
}

// warnStartup says what went wrong at start but did not stop the app.
func warnStartup(c *core.Core, log *slog.Logger) {
	if c.Recovery.MovedTo != "" {
		log.Warn("the database could not be used; it was moved aside and a new one started",
			"reason", c.Recovery.Reason, "moved_to", c.Recovery.MovedTo)
	}
	if c.Fallback != nil {
		log.Warn("keyring not available; the local CA key is kept in a file", "err", c.Fallback.Err, "hint", c.Fallback.Hint)
	}
}

// loginCommand is the command the desktop starts at login: this executable, in the
// tray, on the same data dir.
func loginCommand(dataDirFlag string) []string {
	self, err := os.Executable()
	if err != nil {
		return nil // ui falls back to the running executable
	}
	cmd := []string{self, "--background"}
	if dataDirFlag != "" {
		if abs, err := filepath.Abs(dataDirFlag); err == nil {
			cmd = append(cmd, "--data-dir", abs)
		}
	}
	return cmd
}

// startupNotices says in plain words what went wrong at start, for the window.
func startupNotices(c *core.Core) []string {
	var out []string
	if c.Recovery.MovedTo != "" && errors.Is(c.Recovery.Reason, settings.ErrForeign) {
		out = append(out, fmt.Sprintf("The file where Convergence keeps its settings belonged to another program (%v). It was "+
			"moved, unchanged, to %s and a new one was started with the default notaries and settings. If that program "+
			"needs the file, move it back where it expects it.", c.Recovery.Reason, c.Recovery.MovedTo))
	} else if c.Recovery.MovedTo != "" {
		out = append(out, fmt.Sprintf("Your settings database could not be used (%v). It was moved to %s and a new one "+
			"was started, so your notaries and settings are back to their defaults. Nothing was deleted: keep the old "+
			"file if you want to recover it.", c.Recovery.Reason, c.Recovery.MovedTo))
	}
	return out // the keyring has a dialog of its own (ui.Options.Keyring)
}

// hasDisplay reports whether a graphical session is reachable.
func hasDisplay() bool { return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" }

// hasSessionBus reports whether a D-Bus session bus answers. Without one, fyne's
// systray crashes on quit (fyne issue 6403), so the tray is installed only with one.
// It never starts a bus (no autolaunch).
func hasSessionBus() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return false
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// errNoDisplay is a start of the desktop app where no display can be reached.
var errNoDisplay = cli.WithHint(errors.New("no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"),
	"to run the verifying proxy without a window: ./convergence --headless --listen 127.0.0.1:8118 (or see it work: ./convergence demo)")

// fail prints an error the way the terminal face does (cli.PrintError).
func fail(err error) int { return cli.PrintError(os.Stderr, err) }
