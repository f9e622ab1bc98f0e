package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// ErrUnreachable means no address of the target completed a TLS handshake.
var ErrUnreachable = errors.New("target unreachable")

// Resolver looks up a host's addresses; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config sets up a Prober. Zero durations and counts take the defaults.
type Config struct {
	Policy           *Policy       // required
	Resolver         Resolver      // default net.DefaultResolver
	ConnectTimeout   time.Duration // per address; default 5s
	HandshakeTimeout time.Duration // per address; default 5s
	MaxAddrs         int           // addresses probed per family; default 4
	Rounds           int           // handshakes per address when the wanted certificate is not seen; default 3
}

// Prober probes TLS sites. It is safe for concurrent use; it keeps no state between
// probes and starts no goroutine that outlives a Probe call.
type Prober struct {
	cfg    Config                 // cfg.Policy is the first policy; policy holds the current one
	policy atomic.Pointer[Policy] // swapped whole by SetPolicy (SIGHUP reload)
}

// New returns a Prober for cfg.
func New(cfg Config) *Prober {
	if cfg.Policy == nil {
		cfg.Policy = &Policy{}
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 5 * time.Second
	}
	if cfg.MaxAddrs <= 0 {
		cfg.MaxAddrs = 4
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	p := &Prober{cfg: cfg}
	p.policy.Store(cfg.Policy)
	return p
}

// Policy returns the prober's current address and port policy.
func (p *Prober) Policy() *Policy { return p.policy.Load() }

// SetPolicy replaces the policy (a reload of the allow lists): checks made from now on,
// including those of probes already running, use pol.
func (p *Prober) SetPolicy(pol *Policy) { p.policy.Store(pol) }

// Budget is the longest a Probe can take: resolution plus every round.
func (p *Prober) Budget() time.Duration {
	return p.cfg.ConnectTimeout + time.Duration(p.cfg.Rounds)*(p.cfg.ConnectTimeout+p.cfg.HandshakeTimeout)
}

// Seen is one certificate chain received from one address.
type Seen struct {
	Addr  netip.AddrPort
	Chain []*x509.Certificate // leaf first, as sent by the server
}

// Result is what one probe saw.
type Result struct {
	Seen     []Seen   // one per successful handshake, several per address if rounds repeated
	Failures []string // one line per failed address or round, e.g. "[::1]:443: connection refused"
	Refused  []string // addresses the policy refused
}

// Probe resolves host, filters the addresses through the policy, and does a TLS handshake
// with SNI = host (unless host is an IP literal) with every allowed address, IPv4 and
// IPv6, at most MaxAddrs of each. When want (a SHA-256 or SHA-1 fingerprint in protocol form) is set
// and was not seen, it repeats the handshakes up to Rounds times in all, so a site that
// serves several certificates in turn shows them. It returns an error wrapping ErrRefused
// if the policy refuses the port or every address, ErrUnreachable if no handshake
// completed.
func (p *Prober) Probe(ctx context.Context, host string, port int, want string) (Result, error) {
	var res Result
	if err := p.Policy().CheckPort(port); err != nil {
		return res, err
	}
	addrs, err := p.resolve(ctx, host)
	if err != nil {
		return res, fmt.Errorf("failed to resolve %q: %w: %w", host, ErrUnreachable, err)
	}
	var allowed []netip.Addr
	for _, a := range addrs {
		if err := p.Policy().CheckAddr(a); err != nil {
			res.Refused = append(res.Refused, err.Error())
			continue
		}
		allowed = append(allowed, a)
	}
	if len(allowed) == 0 {
		if len(res.Refused) == 0 {
			return res, fmt.Errorf("failed to resolve %q: no addresses: %w", host, ErrUnreachable)
		}
		return res, fmt.Errorf("failed to probe %q: %s: %w", host, res.Refused[0], ErrRefused)
	}
	sni := host
	if _, err := netip.ParseAddr(host); err == nil {
		sni = "" // RFC 6066: no IP literals in SNI
	}
	for round := 0; round < p.cfg.Rounds; round++ {
		p.round(ctx, allowed, port, sni, &res)
		if want == "" || res.has(want) || len(res.Seen) == 0 || ctx.Err() != nil {
			break
		}
	}
	if len(res.Seen) == 0 {
		return res, fmt.Errorf("failed to probe %q port %d: %v: %w", host, port, res.Failures, ErrUnreachable)
	}
	return res, nil
}

func (r *Result) has(want string) bool {
	for _, s := range r.Seen {
		der := s.Chain[0].Raw
		if protocol.SHA256Fingerprint(der) == want || protocol.SHA1Fingerprint(der) == want {
			return true
		}
	}
	return false
}

// resolve returns the host's addresses, at most MaxAddrs per family, IPv6 and IPv4 both.
func (p *Prober) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	all, err := p.cfg.Resolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var v4, v6 []netip.Addr
	for _, a := range all {
		a = a.Unmap()
		switch {
		case a.Is4() && len(v4) < p.cfg.MaxAddrs:
			v4 = append(v4, a)
		case a.Is6() && len(v6) < p.cfg.MaxAddrs:
			v6 = append(v6, a)
		}
	}
	return append(v6, v4...), nil
}

// round does one handshake with every address at once and waits for all of them.
func (p *Prober) round(ctx context.Context, addrs []netip.Addr, port int, sni string, res *Result) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex // protects res
	)
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(port))
		wg.Go(func() {
			chain, err := p.handshake(ctx, ap, sni)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failures = append(res.Failures, ap.String()+": "+err.Error())
				return
			}
			res.Seen = append(res.Seen, Seen{Addr: ap, Chain: chain})
		})
	}
	wg.Wait()
}

// handshake connects to ap (refusing, in the dialer's Control hook, any address the
// policy refuses: the check runs on the address actually dialled) and returns the chain.
func (p *Prober) handshake(ctx context.Context, ap netip.AddrPort, sni string) ([]*x509.Certificate, error) {
	d := net.Dialer{
		Timeout: p.cfg.ConnectTimeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			dialled, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("failed to parse dialled address %q: %w", address, ErrRefused)
			}
			if err := p.Policy().CheckAddr(dialled.Addr()); err != nil {
				return err
			}
			return p.Policy().CheckPort(int(dialled.Port()))
		},
	}
	conn, err := d.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return nil, fmt.Errorf("failed to connect: %w", err)
	}
	defer conn.Close()
	hctx, cancel := context.WithTimeout(ctx, p.cfg.HandshakeTimeout)
	defer cancel()
	// seen is the chain the site presented, kept as it arrives: a TLS 1.2 site that
	// requires a client certificate aborts the handshake after presenting its own, and
	// that certificate is still what the site shows (the proxy's mode that does not
	// read such a site's connections relies on notaries seeing it; in TLS 1.3 the
	// handshake completes before the site refuses).
	var seen []*x509.Certificate
	askedForCert := false
	tc := tls.Client(conn, &tls.Config{
		ServerName: sni,
		// The notary records whatever certificate the site presents; trust is judged by
		// the checks afterwards, not by the handshake.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			seen = seen[:0]
			for _, der := range raw {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return fmt.Errorf("the site's certificate cannot be read: %w", err)
				}
				seen = append(seen, c)
			}
			return nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			askedForCert = true
			return &tls.Certificate{}, nil // the notary has none to give
		},
	})
	err = tc.HandshakeContext(hctx)
	if err != nil && !(askedForCert && len(seen) > 0) {
		return nil, fmt.Errorf("failed TLS handshake: %w", err)
	}
	chain := seen
	if err == nil {
		chain = tc.ConnectionState().PeerCertificates
	}
	if len(chain) == 0 {
		return nil, errors.New("failed TLS handshake: no certificate")
	}
	return chain, nil
}
