// Package truststore puts the local CA into the trust stores that browsers and programs
// read, verifies it is there, and takes it out again: NSS databases and the system store.
package truststore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Kind is a kind of trust store, for Options.Only.
type Kind string

const (
	// NSS is the NSS databases of the user's browsers (Chromium's ~/.pki/nssdb, every
	// Firefox profile), changed with certutil.
	NSS Kind = "nss"
	// System is the operating system's store; changing it needs administrator rights.
	System Kind = "system"
)

// Nickname prefix and file name prefix of every local CA this app puts in a store,
// whatever its version: uninstall looks for entries by these prefixes, then keeps only
// the ones that hold the CA's own certificate.
const (
	nicknamePrefix = "Convergence Local CA"
	filePrefix     = "convergence-local-ca"
)

// Errors callers branch on.
var (
	// ErrNoCertutil is returned when certutil (Debian/Ubuntu: libnss3-tools, Fedora:
	// nss-tools) is not installed, so NSS databases cannot be changed.
	ErrNoCertutil = errors.New("certutil not found (install libnss3-tools or nss-tools)")
	// ErrUnsupported is returned for the system store on an OS this package does not
	// handle yet.
	ErrUnsupported = errors.New("system trust store not supported on this OS")
	// ErrNeedsRoot is returned when a store can be changed only with administrator
	// rights; Result.Command then says what to run with sudo.
	ErrNeedsRoot = errors.New("needs administrator rights")
	// ErrNotVerified is returned when a store accepted a change but does not show it.
	ErrNotVerified = errors.New("change not visible in the store afterwards")
	// ErrReadOnly is returned when certutil finds a browser database read-only for
	// this user (SEC_ERROR_READ_ONLY): often one that another user owns.
	ErrReadOnly = errors.New("this user cannot write it")
	// ErrCancelled is returned when the person dismissed the administrator password
	// prompt (pkexec's exit status 126): nothing was changed in that store.
	ErrCancelled = errors.New("the administrator password prompt was cancelled")
	// ErrNotAuthorized is returned when pkexec refused (exit status 127): a wrong
	// password, or no polkit agent to ask for one. Nothing was changed in that store.
	ErrNotAuthorized = errors.New("not authorized by the administrator password prompt")
)

// Options say which CA, where its file is, and which stores to use.
type Options struct {
	// CAPEM is the CA certificate, PEM-encoded.
	CAPEM []byte
	// CAFile is a file holding CAPEM: certutil reads it, and Result.Command names it.
	// Install and Replace write CAPEM there (mode 0600) when it holds anything else.
	CAFile string
	// Home is the user's home directory, under which browsers keep their NSS
	// databases; empty is os.UserHomeDir.
	Home string
	// Only limits the stores to these kinds; nil is every kind.
	Only []Kind

	// system is the system store to use in place of this machine's (systemStore):
	// the tests' copy of it in a temporary directory.
	system store
}

// Result is the outcome in one trust store.
type Result struct {
	// Store names the store in plain words, e.g. "Firefox database
	// /home/ann/.mozilla/firefox/abcd.default-release".
	Store string
	// Kind is the kind of store: NSS or System.
	Kind Kind
	// Done is set when the change was made and verified: the CA is in the store and
	// trusted for websites (Install, Replace), or no longer in it (Uninstall).
	Done bool
	// Checked says, when Done, what the verification saw, in plain words (e.g. the
	// certutil command that lists the CA as trusted, or the bundle that holds it).
	Checked string
	// Restart names the program that reads the store only when it starts ("Firefox"),
	// so that it must be restarted, if it is open, to see the change; empty when none.
	Restart string
	// Err says why it is not done; nil when Done. ErrCancelled and ErrNotAuthorized
	// mean the administrator password was not given and the store was not changed.
	Err error
	// Command is the exact shell command a person can run to do it themselves (with
	// sudo where the store needs administrator rights); empty when Done or when no
	// command helps.
	Command string
}

// store is one trust store. The NSS databases (nss.go) and the system store of each OS
// (system_*.go) implement it; Install, Uninstall and Replace hold the policy.
type store interface {
	name() string
	kind() Kind
	// restart is the program to restart for a change to show (Result.Restart).
	restart() string
	// checked says what holds shows when ca is in the store (present) or not.
	checked(ca *caCert, present bool) string
	// holds returns the entries (nicknames, file paths) that hold ca's certificate, and
	// whether the store trusts it for websites.
	holds(ctx context.Context, ca *caCert) (found []string, trusted bool, err error)
	add(ctx context.Context, ca *caCert, caFile string) error
	remove(ctx context.Context, found []string) error
	// addCommand and removeCommand are the shell commands that do what add and remove
	// do; removeCommand names ca's own entry when found is empty.
	addCommand(ca *caCert, caFile string) string
	removeCommand(ca *caCert, found []string) string
}

// unsupportedStore is a system store that cannot be used; every operation says why.
type unsupportedStore struct{ err error }

func (u unsupportedStore) name() string                 { return "System trust store" }
func (u unsupportedStore) kind() Kind                   { return System }
func (u unsupportedStore) restart() string              { return "" }
func (u unsupportedStore) checked(*caCert, bool) string { return "" }
func (u unsupportedStore) holds(context.Context, *caCert) ([]string, bool, error) {
	return nil, false, u.err
}
func (u unsupportedStore) add(context.Context, *caCert, string) error { return u.err }
func (u unsupportedStore) remove(context.Context, []string) error     { return u.err }
func (u unsupportedStore) addCommand(*caCert, string) string          { return "" }
func (u unsupportedStore) removeCommand(*caCert, []string) string     { return "" }

// Install puts the CA into every store it finds (NSS databases, the system store) and
// verifies each: a store is Done only when it then trusts the CA. A store that already
// trusts it is Done without change. The error means nothing could be tried.
func Install(ctx context.Context, o Options) ([]Result, error) {
	ca, err := parseCA(o.CAPEM)
	if err != nil {
		return nil, err
	}
	if err := writeCAFile(o.CAFile, o.CAPEM); err != nil {
		return nil, err
	}
	var out []Result
	for _, s := range o.stores(true) {
		out = append(out, install(ctx, s, ca, o.CAFile))
	}
	return out, nil
}

// Uninstall removes the CA from every store that holds it, found by its certificate
// under any nickname or file name this app has used, and verifies each removal. It
// reports only the stores that held it (or could not be checked): none means it was in
// no store. The error means nothing could be tried.
func Uninstall(ctx context.Context, o Options) ([]Result, error) {
	ca, err := parseCA(o.CAPEM)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, s := range o.stores(false) {
		if r, ok := uninstall(ctx, s, ca); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Replace moves trust from the CA in oldPEM to the one in o.CAPEM (after the CA was
// regenerated): in each store that holds the old CA it removes it and installs the new
// one, then verifies both. It reports only those stores. The error means nothing could
// be tried.
func Replace(ctx context.Context, oldPEM []byte, o Options) ([]Result, error) {
	old, err := parseCA(oldPEM)
	if err != nil {
		return nil, err
	}
	ca, err := parseCA(o.CAPEM)
	if err != nil {
		return nil, err
	}
	if err := writeCAFile(o.CAFile, o.CAPEM); err != nil {
		return nil, err
	}
	var out []Result
	for _, s := range o.stores(false) {
		found, trusted, err := s.holds(ctx, old)
		switch {
		case err != nil:
			r := newResult(s)
			r.Err, r.Command = err, joinCommands(s.removeCommand(old, found), s.addCommand(ca, o.CAFile))
			out = append(out, r)
		case len(found) > 0 || trusted:
			out = append(out, replaceIn(ctx, s, old, ca, found, o.CAFile))
		}
	}
	return out, nil
}

func install(ctx context.Context, s store, ca *caCert, caFile string) Result {
	r := newResult(s)
	if _, trusted, err := s.holds(ctx, ca); err == nil && trusted {
		r.Done, r.Checked = true, s.checked(ca, true)
		return r
	}
	if err := s.add(ctx, ca, caFile); err != nil {
		r.Err, r.Command = err, s.addCommand(ca, caFile)
		return r
	}
	if _, trusted, err := s.holds(ctx, ca); err != nil || !trusted {
		r.Err, r.Command = errors.Join(fmt.Errorf("failed to verify %q in %s: %w", ca.nick, s.name(), ErrNotVerified), err), s.addCommand(ca, caFile)
		return r
	}
	r.Done, r.Checked = true, s.checked(ca, true)
	return r
}

// newResult is a result for s that is not done yet.
func newResult(s store) Result { return Result{Store: s.name(), Kind: s.kind(), Restart: s.restart()} }

// uninstall removes ca from s; ok is false when s did not hold it.
func uninstall(ctx context.Context, s store, ca *caCert) (r Result, ok bool) {
	r = newResult(s)
	found, trusted, err := s.holds(ctx, ca)
	switch {
	case err != nil:
		r.Err, r.Command = err, s.removeCommand(ca, nil)
		return r, true
	case len(found) == 0 && !trusted:
		return r, false
	}
	if err := s.remove(ctx, found); err != nil {
		r.Err, r.Command = err, s.removeCommand(ca, found)
		return r, true
	}
	if left, trusted, err := s.holds(ctx, ca); err != nil || len(left) > 0 || trusted {
		r.Err, r.Command = errors.Join(fmt.Errorf("failed to verify the removal of %q from %s: %w", ca.nick, s.name(), ErrNotVerified), err), s.removeCommand(ca, found)
		return r, true
	}
	r.Done, r.Checked = true, s.checked(ca, false)
	return r, true
}

// replaceIn removes old (its entries found) from s and installs ca there. A command is
// given for what is left to do.
func replaceIn(ctx context.Context, s store, old, ca *caCert, found []string, caFile string) Result {
	r := newResult(s)
	if err := s.remove(ctx, found); err != nil {
		r.Err, r.Command = err, joinCommands(s.removeCommand(old, found), s.addCommand(ca, caFile))
		return r
	}
	if in := install(ctx, s, ca, caFile); !in.Done {
		r.Err, r.Command = in.Err, in.Command
		return r
	}
	if left, _, err := s.holds(ctx, old); err != nil || len(left) > 0 {
		r.Err = errors.Join(fmt.Errorf("failed to verify the removal of %q from %s: %w", old.nick, s.name(), ErrNotVerified), err)
		r.Command = s.removeCommand(old, left)
		return r
	}
	r.Done, r.Checked = true, s.checked(ca, true)
	return r
}

// stores lists the stores o asks for: the NSS databases under the home (with create
// set, Chromium's shared one is listed, and created at the add, when it does not exist)
// and the system store.
func (o Options) stores(create bool) []store {
	var out []store
	if o.use(NSS) {
		home := o.Home
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		out = append(out, nssStores(home, create)...)
	}
	if o.use(System) {
		s := o.system
		if s == nil {
			s = systemStore()
		}
		out = append(out, s)
	}
	return out
}

func (o Options) use(k Kind) bool { return o.Only == nil || slices.Contains(o.Only, k) }

// caCert is a CA certificate and the names it has in the stores.
type caCert struct {
	der  []byte
	nick string // NSS nickname
	file string // file name in the system store, without extension
}

// parseCA reads a PEM CA certificate and derives its names from its public key, so
// that a regenerated CA never takes the name of the one it replaces: NSS refuses a
// second certificate under a nickname in use (SEC_ERROR_ADDING_CERT), which left a
// regenerated CA untrusted when every CA was called "Convergence Local CA".
func parseCA(certPEM []byte) (*caCert, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("failed to decode CA certificate: no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse CA certificate: %w", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	id := hex.EncodeToString(sum[:4])
	return &caCert{der: cert.Raw, nick: nicknamePrefix + " " + id, file: filePrefix + "-" + id}, nil
}

// holdsCert reports whether the PEM data has a certificate block equal to der.
func holdsCert(data, der []byte) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == "CERTIFICATE" && bytes.Equal(b.Bytes, der) {
			return true
		}
	}
}

// writeCAFile makes path hold certPEM.
func writeCAFile(path string, certPEM []byte) error {
	if path == "" {
		return errors.New("failed to write CA certificate: no file given")
	}
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, certPEM) {
		return nil
	}
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		return fmt.Errorf("failed to write CA certificate to %q: %w", path, err)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellCommand joins a command's words into a line for a shell.
func shellCommand(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}

// joinCommands joins the non-empty commands with &&.
func joinCommands(cmds ...string) string {
	var out []string
	for _, c := range cmds {
		if c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, " && ")
}
