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
	"slices"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// BundleFetchTimeout bounds fetching a bundle from a URL.
const BundleFetchTimeout = 20 * time.Second

// ErrBundleSource means the bundle source is neither a readable file nor an https URL.
var ErrBundleSource = errors.New("bundle source must be a file or an https:// URL")

// ErrUntrustedBundleURL means an https bundle URL's server showed a certificate that no
// trusted certificate authority signed, and no fingerprint was given for it: a notary
// serving its bundle over its own self-signed certificate (as convergence-notary does).
var ErrUntrustedBundleURL = errors.New("its server's certificate is not signed by a certificate authority this machine trusts")

// ErrBundleServerNotPinned means an https bundle URL's server showed neither the
// certificate whose fingerprint was given nor one a trusted certificate authority
// signed.
var ErrBundleServerNotPinned = errors.New("its server's certificate is not the one the fingerprint names, and no certificate authority this machine trusts signed it")

// ErrBundleServerNotNotary means, on a refresh, that a notary's bundle URL's server
// showed neither a certificate the notary's stored bundle pins nor one a trusted
// certificate authority signed: someone else may be answering at that address.
var ErrBundleServerNotNotary = errors.New("its server's certificate is neither one the notary's bundle pins nor signed by a certificate authority this machine trusts")

// plainCause is an error that reads as its sentinel, in plain words, and still
// matches its cause (a *tls.CertificateVerificationError, which the window explains).
type plainCause struct{ sentinel, cause error }

func (e plainCause) Error() string   { return e.sentinel.Error() }
func (e plainCause) Unwrap() []error { return []error{e.sentinel, e.cause} }

// readBundle reads at most protocol.MaxBundleSize bytes from a file or an https URL.
// The URL's server is trusted when the system roots (or roots, when not nil) vouch for
// its certificate, or when its certificate is exactly one of serverFPs (canonical
// SHA-256 fingerprints): the notary's own, which the operator published, or, on a
// refresh, one the stored bundle already pins. The bundle is what later pins the notary.
func readBundle(ctx context.Context, source string, dial DialFunc, roots *x509.CertPool, serverFPs ...string) ([]byte, error) {
	return readBundlePinned(ctx, source, dial, roots, serverFPs, ErrBundleServerNotPinned)
}

// readBundlePinned is readBundle whose error, when the server shows none of serverFPs
// and no authority vouches for it, matches notPinned.
func readBundlePinned(ctx context.Context, source string, dial DialFunc, roots *x509.CertPool, serverFPs []string, notPinned error) ([]byte, error) {
	limit := int64(protocol.MaxBundleSize)
	lower := strings.ToLower(source)
	switch {
	case strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(source)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("failed to read bundle %q: %w", source, ErrBundleSource)
		}
		data, err := fetchBundle(ctx, u, dial, roots, serverFPs, limit)
		var unknown x509.UnknownAuthorityError
		switch {
		case errors.As(err, &unknown) && len(serverFPs) > 0:
			return nil, fmt.Errorf("failed to fetch bundle %q: %w", source, plainCause{notPinned, err})
		case errors.As(err, &unknown):
			return nil, fmt.Errorf("failed to fetch bundle %q: %w", source, plainCause{ErrUntrustedBundleURL, err})
		}
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

func fetchBundle(ctx context.Context, u *url.URL, dial DialFunc, roots *x509.CertPool, serverFPs []string, limit int64) ([]byte, error) {
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
	switch {
	case len(serverFPs) > 0:
		tr.TLSClientConfig = pinnedOrCA(roots, serverFPs)
	case roots != nil:
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

// pinnedOrCA is the TLS of a bundle fetch given fingerprints of the server's
// certificate: the server is trusted when its certificate has exactly one of those
// SHA-256s (whoever signed it, even itself), or else when roots (nil: the system's)
// vouch for it and its name, as without a fingerprint. Go's own verification is
// replaced by this one (InsecureSkipVerify with VerifyConnection), never skipped.
func pinnedOrCA(roots *x509.CertPool, serverFPs []string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // VerifyConnection below does the verification
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			if slices.Contains(serverFPs, protocol.SHA256Fingerprint(leaf.Raw)) {
				return nil
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cs.ServerName})
			return err
		},
	}
}

// samePEMCert reports whether the PEM certificate has the DER der.
func samePEMCert(pemText string, der []byte) bool {
	block, _ := pem.Decode([]byte(pemText))
	return block != nil && sha256.Sum256(block.Bytes) == sha256.Sum256(der)
}
