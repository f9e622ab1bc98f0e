// Package cli is the terminal face of the desktop app: check a site, manage notaries,
// the cache, the local CA and the settings, on the same store the GUI uses.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// Env is what a command needs from the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	// Open opens the app's parts on its data dir. Commands call it once; noCA is set
	// for the commands that need neither the local CA nor the proxy.
	Open func(ctx context.Context, noCA bool) (*core.Core, error)
	// FlagHelp lists the program's flags, for 'convergence help' (after Usage).
	FlagHelp string
}

// Usage lists the commands.
const Usage = `usage: convergence [flags] [command]

With no command, starts the desktop app (or, with --headless, the proxy alone).

commands:
  demo                         see it work: three local notaries, an honest site and an attacked
                               one, and the app on a throw-away data dir (its window when there
                               is a display; --headless demo: on the terminal only); exit 1
                               unless the honest site is trusted and the attacked one blocked
  check HOST[:PORT]            ask the notaries about the certificate HOST presents; exit 1 unless trusted
  notary add FILE|URL [--fingerprint SHA256] [--yes] [--replace]
                               show what a .notary bundle pins (host certificates' SHA-256,
                               v2 key) and trust it; a bundle from a URL is trusted only with
                               --fingerprint (one of its certificates, hex, colons allowed) or
                               --yes (trust what is shown); --yes also trusts again a notary
                               you revoked before; a bundle with a known notary's name but
                               other hosts or keys is shown beside the trusted one and changes
                               nothing without --replace
  notary choose [--count N] [--dry-run]
                               pick N (default 3) notaries from the directories, as independent
                               of each other as can be (operator, country, network, host), show
                               why each, and trust them
  notary list                  list notaries and their state, and which share a host, an
                               address, an operator or a network (one vote)
  directory refresh            fetch the notary directories (settings directory-urls, -keys);
                               one whose signature fails is refused, and the copy held kept
  directory list               list the notaries of the directories held
  notary refresh               fetch each notary's bundle again from its https location; exit 1 if any failed
  notary revoke NAME           stop trusting a notary, and drop verdicts that needed it
  notary enable|disable NAME   ask, or stop asking, a notary without revoking it (disable drops
                               the cached verdicts that needed it)
  notary remove NAME           forget a notary (a later import is a new notary), and drop
                               the cached verdicts that needed it
  cache list                   list cached verdicts
  cache clear [HOST[:PORT]]    forget cached verdicts (all, or one site's)
  ca export                    print the local CA certificate (PEM) to trust in browsers
  ca install                   trust the local CA in your browsers' NSS databases and the system
                               store (as root); print the command to run where it could not
  ca uninstall                 remove the local CA from every trust store that holds it
  ca regenerate                make a new local CA (the old one stops working) and put it in
                               the trust stores that held the old one, in its place
  settings                     show the settings
  set KEY VALUE                change a setting (see 'convergence settings' for keys)
  cleartext allow HOST:PORT    let streams that are not TLS (plain TCP, STARTTLS) to HOST:PORT pass, unchecked
  cleartext remove HOST:PORT   refuse them again (the default for every destination)
  cleartext list               list the destinations allowed
  decisions list               list your decisions: certificates trusted anyway, sites not
                               checked, cleartext tunnels, revoked notaries; when, why, how long
  decisions remove ID [--yes]  end one decision now (the ID from 'decisions list'); ending a
                               notary's revocation trusts it again, and needs --yes
  decisions trust HOST[:PORT] SHA256 --for once|day|until-change|always
                               trust this certificate only, for HOST, whatever the notaries say
  decisions passthrough HOST[:PORT]
                               verify HOST:PORT without reading: for a site that asks for a client
                               certificate, or an app that pins its own (see README: its cost)
  system-proxy enable|disable|status
                               point the desktop's proxy settings (GNOME, KDE, terminal
                               programs) at Convergence, put back what was there, or show
                               for each whether it points at Convergence
  pause 15m|1h|DURATION|forever
                               let sites pass unchecked for a while (the running app
                               resumes at the end and says so), or until 'resume'
  resume                       check sites again

flags:
`

// takesFlags lists the commands ("group sub") that parse flags of their own; run
// refuses a flag given to any other command.
var takesFlags = map[string]bool{"notary add": true, "notary choose": true, "decisions remove": true, "decisions trust": true}

// ErrUsage marks a mistake in the command line.
var ErrUsage = errors.New("usage")

// exitError carries a non-zero exit status that is not a failure to report, such as a
// rejected site in 'check'.
type exitError struct{ code int }

func (e exitError) Error() string { return "exit status " + strconv.Itoa(e.code) }

// IsCommand reports whether args name a terminal command rather than the app.
func IsCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "check", "notary", "directory", "cache", "ca", "settings", "set", "cleartext", "decisions", "system-proxy", "pause", "resume", "help":
		return true
	}
	return false
}

// Run runs one command and returns the process exit status (ExitOK, ExitFailure,
// ExitUsage). Errors are printed by PrintError (tui.go).
func Run(ctx context.Context, args []string, env Env) int {
	err := run(ctx, args, env)
	var ee exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	}
	return PrintError(env.Stderr, err)
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] == "help" || slices.ContainsFunc(args, isHelp) {
		fmt.Fprint(env.Stdout, Usage)
		fmt.Fprint(env.Stdout, env.FlagHelp)
		return nil
	}
	// A command that reads flags of its own is listed in takesFlags; any other meets
	// an unknown flag here, as one usage line.
	if len(args) < 2 || !takesFlags[args[0]+" "+args[1]] {
		if i := slices.IndexFunc(args, isFlag); i >= 0 {
			return fmt.Errorf("%w: unknown flag %q for %s (flags such as --data-dir go before the command)", ErrUsage, args[i], args[0])
		}
	}
	needCA := args[0] == "ca" && len(args) > 1 && (args[1] == "export" || args[1] == "install")
	c, err := env.Open(ctx, !needCA)
	if err != nil {
		return err
	}
	defer c.Close()
	switch {
	case c.Recovery.MovedTo == "":
	case errors.Is(c.Recovery.Reason, settings.ErrForeign):
		Warnf(env.Stderr, "the database was another program's (%v); it was moved, unchanged, to %s and a new one started", c.Recovery.Reason, c.Recovery.MovedTo)
	default:
		Warnf(env.Stderr, "the database could not be used (%v); it was moved to %s and a new one started", c.Recovery.Reason, c.Recovery.MovedTo)
	}
	switch args[0] {
	case "check":
		return check(ctx, c, args[1:], env.Stdout)
	case "notary":
		return notaryCmd(ctx, c, args[1:], env.Stdout)
	case "directory":
		return directoryCmd(ctx, c, args[1:], env.Stdout)
	case "cache":
		return cacheCmd(ctx, c, args[1:], env.Stdout)
	case "ca":
		return caCmd(ctx, c, args[1:], env.Stdout)
	case "settings":
		return showSettings(ctx, c, env.Stdout)
	case "set":
		return set(ctx, c, args[1:], env.Stdout)
	case "cleartext":
		return cleartextCmd(ctx, c, args[1:], env.Stdout)
	case "decisions":
		return decisionsCmd(ctx, c, args[1:], env.Stdout)
	case "system-proxy":
		return systemProxyCmd(ctx, c, args[1:], env.Stdout, env.Stderr)
	case "pause":
		return pauseCmd(ctx, c, args[1:], env.Stdout)
	case "resume":
		return resumeCmd(ctx, c, args[1:], env.Stdout)
	}
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}

// parseTarget reads HOST, HOST:PORT or [V6]:PORT; the port defaults to 443.
func parseTarget(s string) (verifier.Target, error) {
	host, port := s, 443
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return verifier.Target{}, fmt.Errorf("%w: bad port in %q", ErrUsage, s)
		}
		host, port = h, n
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return verifier.Target{}, fmt.Errorf("%w: no host in %q", ErrUsage, s)
	}
	if _, err := protocol.NormalizeHost(host); err != nil {
		return verifier.Target{}, fmt.Errorf("%w: %q is not a host name or an IP address (give HOST, HOST:PORT or [IPv6]:PORT)", ErrUsage, host)
	}
	return verifier.Target{Host: host, Port: port}, nil
}

func check(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: check takes one HOST[:PORT]", ErrUsage)
	}
	t, err := parseTarget(args[0])
	if err != nil {
		return err
	}
	vd, err := c.Check(ctx, t)
	if err != nil {
		return err
	}
	printVerdict(out, vd)
	if !vd.Allowed() {
		return exitError{1}
	}
	return nil
}

// printVerdict writes one line per notary and the verdict.
func printVerdict(out io.Writer, vd verifier.Verdict) {
	fmt.Fprintf(out, "%s\n  certificate sha256 %s\n", vd.Target, vd.FingerprintSHA256)
	for _, a := range vd.Answers {
		line := fmt.Sprintf("  %-24s %-12s", a.Notary, a.Kind)
		if a.Latency > 0 {
			line += fmt.Sprintf(" %8s", Duration(a.Latency))
		}
		if a.Err != "" {
			line += "  " + a.Err
		}
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(out, "verdict: %s\n", VerdictLine(vd))
	if vd.Warning != "" {
		fmt.Fprintf(out, "warning: %s\n", vd.Warning)
	}
}
