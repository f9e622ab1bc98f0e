package verifier

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// BundleFetchTimeout bounds fetching a bundle from a URL.
const BundleFetchTimeout = 20 * time.Second

// ErrBundleSource means the bundle source is neither a readable file nor an https URL.
var ErrBundleSource = errors.New("bundle source must be a file or an https:// URL")

// readBundle reads at most protocol.MaxBundleSize bytes from a file or an https URL
// (checked against the system roots, or roots when not nil: the bundle is what later
// pins the notary).
func readBundle(ctx context.Context, source string, dial DialFunc, roots *x509.CertPool) ([]byte, error) {
	limit := int64(protocol.MaxBundleSize)
	lower := strings.ToLower(source)
	switch {
	case strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(source)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("failed to read bundle %q: %w", source, ErrBundleSource)
		}
		data, err := fetchBundle(ctx, u, dial, roots, limit)
		if err != nil {
			return nil, fmt.Errorf("failed to fetch bundle %q: %w", source, err)
		}
		return data, nil
	case strings.Contains(lower, "://"):
		return nil, fmt.Errorf("failed to read bundle %q: %w", source, ErrBundleSource)
	}
	f, err := os.Open(source)
	if err != nil {
		return nil, fmt.Errorf("failed to read bundle %q: %w", source, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read bundle %q: %w", source, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("failed to read bundle %q: more than %d bytes: %w", source, limit, protocol.ErrTooLarge)
	}
	return data, nil
}

// originOf says where a bundle read from source came from, as the store records it
// (settings.Notary.Source): "url:" and the URL, "file:" and the path, or, for a
// notary taken from a notary directory, "directory:" and the directory's URL as given.
func originOf(source string) string {
	if strings.HasPrefix(strings.ToLower(source), "https://") {
		return "url:" + source
	}
	if strings.HasPrefix(source, "directory:") {
		return source
	}
	return "file:" + source
}

func fetchBundle(ctx context.Context, u *url.URL, dial DialFunc, roots *x509.CertPool, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, BundleFetchTimeout)
	defer cancel()
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	tr := &http.Transport{
		Proxy:               nil, // never the environment's proxy: it may be our own
		DialContext:         dial,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableCompression:  true,
	}
	if roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: tr, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %q: %w", r.URL.String(), ErrBundleSource)
		}
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return nil
	}}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server answered %q", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("more than %d bytes: %w", limit, protocol.ErrTooLarge)
	}
	return data, nil
}

// samePEMCert reports whether the PEM certificate has the DER der.
func samePEMCert(pemText string, der []byte) bool {
	block, _ := pem.Decode([]byte(pemText))
	return block != nil && sha256.Sum256(block.Bytes) == sha256.Sum256(der)
}
