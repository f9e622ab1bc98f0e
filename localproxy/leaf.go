package localproxy

import (
	"container/list"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/convergence-ng/convergence/notary/protocol"
)

const (
	defaultLeafCacheSize = 1000
	leafValidity         = 7 * 24 * time.Hour
	leafBackdate         = time.Hour
	// leafRenewBefore is how long before its NotAfter a cached leaf is replaced, so a
	// long-lived connection never holds a leaf that expires mid-use.
	leafRenewBefore = 24 * time.Hour
)

// ErrBadServerName is returned when a name cannot be put in a certificate.
var ErrBadServerName = errors.New("invalid server name")

// leafCache holds the leaves minted by one CA: bounded (least recently used out first),
// expiring, and minting each name once however many callers ask at the same time.
//
// All leaves of one CA share one ECDSA P-256 key pair, made when the CA is loaded and
// never stored: a mint is then one signature instead of a key generation plus a
// signature. Sharing is safe here because the key only ever speaks to local clients and
// dies with the process; the CA key, which is what clients trust, stays separate.
type leafCache struct {
	key   *ecdsa.PrivateKey
	max   int
	group singleflight.Group
	mints atomic.Int64 // leaves minted so far; tests read it

	mu sync.Mutex // protects ll and m
	ll *list.List // of *leafEntry, most recently used first
	m  map[string]*list.Element
}

type leafEntry struct {
	name  string
	cert  *tls.Certificate
	renew time.Time
}

func newLeafCache(max int) (*leafCache, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to generate leaf key: %w", err)
	}
	return &leafCache{key: key, max: max, ll: list.New(), m: map[string]*list.Element{}}, nil
}

// Leaf returns a certificate for name (a DNS name or an IP literal) signed by the CA,
// minting it on first use and caching it until shortly before it expires. Safe for
// concurrent use; concurrent calls for one name mint once.
func (c *CA) Leaf(name string) (*tls.Certificate, error) {
	name, err := normalizeServerName(name)
	if err != nil {
		return nil, err
	}
	if cert := c.leaves.get(name, time.Now()); cert != nil {
		return cert, nil
	}
	v, err, _ := c.leaves.group.Do(name, func() (any, error) {
		if cert := c.leaves.get(name, time.Now()); cert != nil {
			return cert, nil
		}
		cert, err := c.mint(name, time.Now())
		if err != nil {
			return nil, err
		}
		c.leaves.put(name, cert)
		return cert, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*tls.Certificate), nil
}

func (lc *leafCache) get(name string, now time.Time) *tls.Certificate {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	el, ok := lc.m[name]
	if !ok {
		return nil
	}
	e := el.Value.(*leafEntry)
	if !now.Before(e.renew) {
		lc.ll.Remove(el)
		delete(lc.m, name)
		return nil
	}
	lc.ll.MoveToFront(el)
	return e.cert
}

func (lc *leafCache) put(name string, cert *tls.Certificate) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if el, ok := lc.m[name]; ok {
		lc.ll.Remove(el)
	}
	lc.m[name] = lc.ll.PushFront(&leafEntry{name: name, cert: cert, renew: cert.Leaf.NotAfter.Add(-leafRenewBefore)})
	for lc.ll.Len() > lc.max {
		last := lc.ll.Back()
		lc.ll.Remove(last)
		delete(lc.m, last.Value.(*leafEntry).name)
	}
}

// mint signs a new leaf for name. The chain served is leaf then CA: some clients (and
// Chromium's SPKI allow-list) look for the CA in the chain rather than in a store.
func (c *CA) mint(name string, now time.Time) (*tls.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-leafBackdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &c.leaves.key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("failed to mint leaf for %q: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("failed to parse leaf for %q: %w", name, err)
	}
	c.leaves.mints.Add(1)
	return &tls.Certificate{
		Certificate: [][]byte{der, c.cert.Raw},
		PrivateKey:  c.leaves.key,
		Leaf:        leaf,
	}, nil
}

// normalizeServerName returns name as every host name is normalised
// (protocol.NormalizeHost: lowercase, one trailing dot dropped, IPv6 without
// brackets), or ErrBadServerName for what cannot be a host name or an IP literal.
func normalizeServerName(name string) (string, error) {
	n, err := protocol.NormalizeHost(name)
	if err != nil {
		return "", fmt.Errorf("failed to use server name %q: %w: %w", name, ErrBadServerName, err)
	}
	return n, nil
}
