package verifier

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// errPinMismatch means a notary host presented a certificate other than the one in its
// bundle: an impostor or an interception, never that notary.
var errPinMismatch = errors.New("notary presented a certificate other than its pinned one")

// DialFunc opens a network connection; Config.Dial lets notary connections go through
// an upstream proxy.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// endpoint is one physical notary host with what authenticates it.
type endpoint struct {
	Host   string
	Port   int
	Pinned *x509.Certificate // the certificate the host must present, leaf DER compared
	V2Key  crypto.PublicKey  // verifies v2 answers; nil when the host cannot speak v2
}

// addr returns host:port.
func (e endpoint) addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// pinnedTLSConfig returns a TLS configuration that accepts exactly the pinned
// certificate as the server's leaf: no CA, no name check, as the bundle is the trust
// anchor (reference: the original client pinned the bundle's certificate the same way).
func pinnedTLSConfig(e endpoint) *tls.Config {
	pinned := e.Pinned.Raw
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is checked below against the pin instead of a CA pool.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			if len(rawCerts) == 0 || !bytes.Equal(rawCerts[0], pinned) {
				return errPinMismatch
			}
			return nil
		},
	}
	if net.ParseIP(e.Host) == nil {
		cfg.ServerName = e.Host // SNI, so a notary behind a shared address can be found
	}
	return cfg
}

// transports keeps one HTTP transport per pinned endpoint, so connections to a notary
// are reused between checks. Safe for concurrent use.
type transports struct {
	dial DialFunc

	mu sync.Mutex // protects byKey
	// byKey maps address plus pinned-certificate fingerprint to its transport.
	byKey map[string]*http.Transport
}

func newTransports(dial DialFunc) *transports {
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	return &transports{dial: dial, byKey: map[string]*http.Transport{}}
}

// get returns the transport for e, creating it on first use.
func (t *transports) get(e endpoint) *http.Transport {
	key := e.addr() + "|" + protocol.SHA256Fingerprint(e.Pinned.Raw)
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.byKey[key]; ok {
		return tr
	}
	tr := &http.Transport{
		// Never the environment's proxy: it may well be our own local proxy.
		Proxy:                 nil,
		DialContext:           t.dial,
		TLSClientConfig:       pinnedTLSConfig(e),
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true, // size caps apply to what is on the wire
	}
	t.byKey[key] = tr
	return tr
}

// closeIdle closes every idle connection.
func (t *transports) closeIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.byKey {
		tr.CloseIdleConnections()
	}
}

// describeErr names a transport failure in plain words for NotaryAnswer.Err.
func describeErr(err error) string {
	if errors.Is(err, errPinMismatch) {
		return errPinMismatch.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer in time: %v", err)
	}
	return err.Error()
}
