package core

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/truststore"
)

// TrustState is how a change to one trust store went. The zero value is TrustFailed:
// a result is never done unless it says so.
type TrustState int

const (
	// TrustFailed: the store was not changed as asked; Err says why, Command what to run.
	TrustFailed TrustState = iota
	// TrustCancelled: the administrator password prompt was dismissed; nothing was
	// changed in that store. (A refusal, or no prompt to show, is TrustFailed: trying
	// again the same way would not help, and Err says why.)
	TrustCancelled
	// TrustDone: changed and verified in the store (Checked says how).
	TrustDone
)

// TrustStoreResult is the outcome of a change to the local CA's trust in one store.
type TrustStoreResult struct {
	// Store names the store, e.g. "Firefox database /home/ann/.mozilla/firefox/x.default".
	Store string
	// System is set for the system store; the others are browsers' NSS databases.
	System bool
	State  TrustState
	// Checked says what the verification saw when done, e.g. "certutil -L -n
	// 'Convergence Local CA 1a2b3c4d' -d sql:/home/ann/.pki/nssdb shows it, trusted
	// for websites (C,,)".
	Checked string
	// Restart names the browser to restart, if it is open, for the change to take
	// effect ("Firefox"); empty when none needs it.
	Restart string
	// Command is what the user can run themselves when the store could not be
	// changed; empty otherwise.
	Command string
	Err     string // why it is not done, in plain words; empty when done
}

// Done reports whether the change was made and verified.
func (r TrustStoreResult) Done() bool { return r.State == TrustDone }

// Note is what to say about the result after the store's name, the same words in the
// window and on the terminal: what was verified and the restart it needs, or why not.
func (r TrustStoreResult) Note() string {
	switch r.State {
	case TrustDone:
		note := "verified: " + r.Checked
		if r.Restart != "" {
			note += "; restart " + r.Restart + " if it is open"
		}
		return note
	case TrustCancelled:
		return "the administrator password prompt was cancelled, so nothing was changed in this store"
	}
	if r.Err == "" {
		return "not verified"
	}
	return r.Err
}

// trustState decides a store's state from its truststore result.
func trustState(r truststore.Result) TrustState {
	switch {
	case r.Done && r.Err == nil:
		return TrustDone
	case errors.Is(r.Err, truststore.ErrCancelled):
		return TrustCancelled
	}
	return TrustFailed
}

// InstallCA adds the local CA to the trust stores it finds (every NSS database of the
// user's browsers, Chromium's created when missing, and the system store, through the
// administrator password prompt when not root) and reports each, verified
// (truststore.Install); a store it cannot change comes with the command to run.
func (c *Core) InstallCA(ctx context.Context) ([]TrustStoreResult, error) {
	rs, err := truststore.Install(ctx, c.trustOptions(c.CAPEM()))
	if err != nil {
		return nil, err
	}
	out := trustResults(rs)
	c.mu.Lock()
	for _, r := range out {
		c.caInstalled = c.caInstalled || r.Done()
	}
	c.mu.Unlock()
	return out, nil
}

// ErrNoCACert is returned by UninstallCA when the data dir holds no CA certificate, so
// there is nothing to look for in the trust stores.
var ErrNoCACert = errors.New("no local CA certificate in the data dir")

// UninstallCA removes the local CA from every trust store that holds it, under any name
// this app gave it (truststore.Uninstall), and reports the stores it was in. The
// certificate is read from the data dir, so this works when the CA's key is lost (a
// core opened with NoCA).
func (c *Core) UninstallCA(ctx context.Context) ([]TrustStoreResult, error) {
	certPEM, err := c.caCertPEM()
	if err != nil {
		return nil, err
	}
	if certPEM == nil {
		return nil, fmt.Errorf("failed to uninstall the local CA: %w (%q)", ErrNoCACert, c.caFile())
	}
	rs, err := truststore.Uninstall(ctx, c.trustOptions(certPEM))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.caInstalled = false
	c.mu.Unlock()
	return trustResults(rs), nil
}

// ReplaceCA makes a new local CA (RegenerateCA) and moves trust to it: in each store that
// held the old CA, the old one is removed and the new one installed, then both are
// verified (truststore.Replace). It reports those stores; none means the old CA was in
// no store (or its certificate was gone), and the new one must be installed (InstallCA).
// The CA is new even when a store could not be changed: each such result says what to run.
func (c *Core) ReplaceCA(ctx context.Context) (*localproxy.CA, []TrustStoreResult, error) {
	oldPEM, err := c.caCertPEM()
	if err != nil {
		return nil, nil, err
	}
	ca, err := c.RegenerateCA()
	if err != nil {
		return nil, nil, err
	}
	if oldPEM == nil {
		return ca, nil, nil
	}
	rs, err := truststore.Replace(ctx, oldPEM, c.trustOptions(ca.CertPEM()))
	if err != nil {
		return ca, nil, err
	}
	out := trustResults(rs)
	c.mu.Lock()
	c.caInstalled = false
	for _, r := range out {
		c.caInstalled = c.caInstalled || r.Done()
	}
	c.mu.Unlock()
	return ca, out, nil
}

// caCertPEM is the current CA's certificate: the loaded CA's, or with none loaded (NoCA,
// or a CA whose key is lost) the file in the data dir; nil when there is none.
func (c *Core) caCertPEM() ([]byte, error) {
	if ca := c.CA(); ca != nil {
		return ca.CertPEM(), nil
	}
	data, err := os.ReadFile(c.caFile())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("failed to read CA certificate %q: %w", c.caFile(), err)
	}
	return data, nil
}

func (c *Core) caFile() string { return filepath.Join(c.DataDir, localproxy.CACertFile) }

// trustOptions are the truststore options for certPEM, with the stores Options chose.
func (c *Core) trustOptions(certPEM []byte) truststore.Options {
	return truststore.Options{CAPEM: certPEM, CAFile: c.caFile(), Home: c.trustHome, Only: c.trustOnly}
}

// trustResults turns the trust store's results into the application's.
func trustResults(rs []truststore.Result) []TrustStoreResult {
	out := make([]TrustStoreResult, len(rs))
	for i, r := range rs {
		out[i] = TrustStoreResult{Store: r.Store, System: r.Kind == truststore.System, State: trustState(r),
			Checked: r.Checked, Restart: r.Restart, Command: r.Command}
		if out[i].State != TrustDone {
			out[i].Checked = ""
		}
		if r.Err != nil {
			out[i].Err = r.Err.Error()
		}
	}
	return out
}
