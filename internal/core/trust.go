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
		c.caInstalled = c.caInstalled || r.Installed
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
		out[i] = TrustStoreResult{Store: r.Store, Installed: r.Done, Command: r.Command}
		if r.Err != nil {
			out[i].Err = r.Err.Error()
		}
	}
	return out
}
