package cli

// How the terminal speaks: every rule is here, and every command, the app's start
// (main) and 'convergence demo' print through these functions (age's cmd/age/tui.go is
// the model).
//
//   - Results go to standard output; errors, warnings and hints to standard error.
//   - An error is one line, "convergence: error: ..." (lowercase, no period, the user's
//     data in quotes), then at most one "hint: ..." line that names the exact fix.
//     Errors say what failed once: a layer that adds no new fact does not wrap.
//   - A warning is one line, "convergence: warning: ...": the command went on.
//   - The exit status is ExitOK (done), ExitFailure (failed, or the answer is no: 'check'
//     of a site that is not trusted) or ExitUsage (the command line is wrong, a flag
//     unknown, a setting's value not valid); nothing else.
//   - An unknown flag is one line and a hint, never the whole usage; 'convergence help'
//     (and --help) prints the usage, the flags included, on standard output.
//   - A verdict is worded by VerdictLine alone, with the counts of verifier.Decide (and
//     its rule from settings.Threshold.Describe): one wording in every command.
//   - A duration carries its unit (Duration).
//   - Go's own wording (a JSON decoder's "invalid character", a wrapped sentinel's
//     "malformed input") is not a message: the layer that sees it says what it means.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// The exit statuses of every command.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// prog is how messages name the program.
const prog = "convergence"

// settingsHint is the hint of a setting's key or value that is not valid.
const settingsHint = "'convergence settings' lists every key with the values it takes"

// usageHint is the hint of every usage error that has no better one.
const usageHint = "run 'convergence help' for the commands and flags"

// PrintError writes err as one error line and its hint, and returns the exit status
// it calls for: ExitUsage for a usage error (ErrUsage, settings.ErrInvalidSettings),
// ExitFailure otherwise.
func PrintError(w io.Writer, err error) int {
	msg, h := message(err), Hint(err)
	fmt.Fprintf(w, "%s: error: %s\n", prog, msg)
	if h != "" {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
	if IsUsage(err) {
		return ExitUsage
	}
	return ExitFailure
}

// UsageError writes a mistake in the command line (msg, without "usage:") as one error
// line with the usage hint, and returns ExitUsage.
func UsageError(w io.Writer, msg string) int {
	return PrintError(w, fmt.Errorf("%w: %s", ErrUsage, msg))
}

// Warnf writes one warning line.
func Warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s: warning: %s\n", prog, fmt.Sprintf(format, args...))
}

// Notef writes one line that is neither a result nor a problem (where the app runs,
// what a long command is doing) to standard error.
func Notef(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s: %s\n", prog, fmt.Sprintf(format, args...))
}

// IsUsage reports whether err is a mistake in the command line.
func IsUsage(err error) bool {
	return errors.Is(err, ErrUsage) || errors.Is(err, settings.ErrInvalidSettings)
}

// message is err's one line: without the "usage: " marker, and for a data dir that
// cannot be used, without its hint (printed on its own line).
func message(err error) string {
	var de *settings.DirError
	if errors.As(err, &de) {
		return fmt.Sprintf("failed to %s data dir %q: %v", de.Op, de.Dir, de.Err)
	}
	msg := err.Error()
	msg = strings.Replace(msg, ErrUsage.Error()+": ", "", 1)
	return strings.Join(strings.Fields(msg), " ") // one line, whatever a wrapped error held
}

// hinted is an error with its fix: the message is err's, unchanged.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// withHint gives err the hint h, where only the caller knows the fix.
func withHint(err error, h string) error { return hinted{err, h} }

// WithHint gives err the hint h, for errors made outside this package (main's).
func WithHint(err error, h string) error { return withHint(err, h) }

// FlagHelp lists fs's flags as 'convergence help' shows them, after Usage.
func FlagHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	out := fs.Output()
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(out)
	return b.String()
}

// FlagError writes a mistake in the program's flags (from flag.FlagSet.Parse of args,
// whose output must be discarded) as one usage error line, and returns ExitUsage. An
// unknown flag is named as it was typed ("--bogus", where the flag package says
// "-bogus").
func FlagError(w io.Writer, err error, args []string) int {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		for _, a := range args {
			if typed, _, _ := strings.Cut(a, "="); strings.HasPrefix(typed, "-") && strings.TrimLeft(typed, "-") == name {
				name = typed
				break
			}
		}
		if !strings.HasPrefix(name, "-") {
			name = "-" + name
		}
		msg = fmt.Sprintf("unknown flag %q", name)
	}
	return UsageError(w, msg)
}

// Hint names the fix for err, one line; empty when none helps.
func Hint(err error) string {
	var de *settings.DirError
	var h hinted
	switch {
	case errors.As(err, &h):
		return h.hint
	case errors.As(err, &de):
		return de.Hint
	case errors.Is(err, settings.ErrInvalidSettings):
		return settingsHint
	case errors.Is(err, ErrUsage):
		return usageHint
	case errors.Is(err, verifier.ErrPreviouslyRevoked):
		return "you revoked this notary before; run the command again with --yes to trust it again"
	case errors.Is(err, errNotConfirmed):
		return "compare the fingerprints above with ones you got from the notary's operator another way, then run the command again with --fingerprint SHA256 (one of them), or with --yes to trust what is shown"
	case errors.Is(err, errFingerprintMismatch):
		return "the bundle at this address pins other certificates (listed above) than the one you named: ask the notary's operator which is right, and run the command again with --fingerprint set to it"
	case errors.Is(err, verifier.ErrUntrustedBundleURL):
		return "this address's certificate is not signed by a CA this machine trusts (a notary serves its bundle over its own certificate): run the command again with --fingerprint SHA256, the fingerprint the notary's operator published, and the bundle is fetched trusting that certificate alone"
	case errors.Is(err, errKeysChanged):
		return "this may be a key change its operator announced, or someone else taking its name: ask the operator, by a way you trust, which hosts and keys are right; to trust the new ones run the command again with --replace"
	case errors.Is(err, core.ErrNoDirectories):
		return "set where directories are and the key they are signed with: 'convergence set directory-urls URL' and 'convergence set directory-keys ed25519:KEY' (from the directory's maintainer)"
	case errors.Is(err, directory.ErrBadSignature):
		return "the directory was changed after it was signed, or signed with another key than the one set (directory-keys): it was not used; ask the directory's maintainer for the right key, or wait for a good copy"
	case errors.Is(err, directory.ErrOlder):
		return "someone served an older copy of the directory than the one held (a replay); the copy held is still used"
	case errors.Is(err, core.ErrOtherKeys):
		return "a directory never replaces a notary's hosts or keys: ask its operator which are right, and if the new ones are, add its .notary file with 'convergence notary add FILE --replace'"
	case errors.Is(err, core.ErrNothingToChoose):
		return "add a directory that lists more notaries (directory-urls), or add one with 'convergence notary add FILE|URL'"
	case errors.Is(err, verifier.ErrBundleServerNotPinned):
		return "the server at this address shows another certificate than the one --fingerprint names: check the fingerprint with the notary's operator (convergence-notary logs it at start as cert_sha256); if they match, someone between you and the notary is answering in its place"
	case errors.Is(err, errTrustsAgain):
		return "do it only if you know why it was revoked and that this is resolved; then run the command again with --yes"
	case errors.Is(err, core.ErrNoDecision):
		return "run 'convergence decisions list' for the IDs of your decisions"
	case errors.Is(err, verifier.ErrBundleSource):
		return "give the path of a .notary file or an https:// URL"
	case errors.Is(err, errStoresLeft):
		return "run the commands printed above for each store left, then check with 'convergence ca install'"
	case errors.Is(err, core.ErrNoCACert):
		return "the CA was never made or its file was removed: remove entries named \"Convergence Local CA ...\" in your browser's certificate settings"
	case errors.Is(err, localproxy.ErrCAIncomplete), errors.Is(err, localproxy.ErrCAMismatch):
		return "if the CA key is in a locked keyring, unlock it and try again; if an earlier version of Convergence used this data dir at another path, open it once there with this version (the key is found there and then follows the dir); otherwise make a new CA with 'convergence ca regenerate' and trust it again in your browsers"
	case errors.Is(err, core.ErrNoDesktop):
		return systemProxyHint(err)
	case errors.Is(err, syscall.EADDRINUSE):
		return "another program (or another Convergence) listens there: stop it, or choose another address with --listen 127.0.0.1:PORT or 'convergence set listen 127.0.0.1:PORT'"
	case errors.As(err, new(*net.DNSError)):
		return "the host name could not be found: check its spelling and this machine's network connection"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing answers at that address and port: check the port (HOST:PORT; 443 when none is given)"
	case errors.As(err, new(*net.OpError)):
		return "check the address and this machine's network connection, then try again"
	case errors.Is(err, settings.ErrNotFound):
		return "'convergence notary list' shows the notaries' names"
	}
	return ""
}

// VerdictLine words a verdict in one line: the outcome, then its reason, which carries
// the counts in the words of every surface (verifier.Decide's reason says
// verifier.CountWords; a cached verdict's is recounted now).
func VerdictLine(vd verifier.Verdict) string {
	return strings.ToUpper(vd.Outcome.String()) + ": " + vd.Reason
}

// Duration writes d with its unit, rounded to what a person reads: 850µs, 12ms, 1.5s.
func Duration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// isFlag reports whether a command's argument is a flag ("-x", "--x"), not a value
// such as "-1".
func isFlag(arg string) bool {
	return len(arg) > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9')
}

// isHelp reports whether arg asks for the usage.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }
