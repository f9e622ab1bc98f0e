package localproxy

import (
	"crypto/rand"
	"crypto/tls"
	"sync"
	"time"
)

// Session resumption on both legs of an interception (issue 17 item 2). Both stores
// live in memory only and die with the process.
//
// Toward the client, the proxy issues session tickets under keys it makes itself and
// rotates (ticketKeys). A resumed client handshake still runs GetConfigForClient, so
// the site is still dialled and its certificate judged for every connection; only the
// client's certificate check and the leaf's signature are saved.
//
// Toward the site, a session is kept for resumption (upstreamSessions) only once the
// certificate of the handshake that made it was judged and trusted, and only for the
// same (host, port, SNI): a resumed session shows no certificate on the wire, and Go
// hands back the chain of the session's first handshake, which is judged again by the
// Checker for every connection (from its cache: microseconds). A session whose chain
// is then rejected is dropped.

// Curves: the loopback leg (client to proxy) uses X25519 alone: nobody records
// loopback traffic to decrypt later, and a hybrid post-quantum key share costs more
// per handshake. Toward sites the Go defaults stand (X25519MLKEM768 first), so the
// traffic that leaves the machine keeps the post-quantum hybrid.
var loopbackCurves = []tls.CurveID{tls.X25519}

// ticketRotation is how often the client-facing ticket key is replaced; a ticket is
// accepted under the current key and the one before, so for up to two rotations.
const ticketRotation = time.Hour

// ticketKeys makes and rotates the keys of the client-facing session tickets. Safe
// for concurrent use.
type ticketKeys struct {
	now func() time.Time // the clock; tests move it

	mu   sync.Mutex // protects keys and made
	keys [][32]byte // current first, then the previous one
	made time.Time  // when keys[0] was made
}

func newTicketKeys() *ticketKeys { return &ticketKeys{now: time.Now} }

// current returns the keys to issue and accept tickets with, rotating first when the
// current one is older than ticketRotation.
func (k *ticketKeys) current() [][32]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if len(k.keys) == 0 || now.Sub(k.made) >= ticketRotation {
		var fresh [32]byte
		rand.Read(fresh[:]) // never fails (crypto/rand, Go 1.24+)
		next := [][32]byte{fresh}
		if len(k.keys) > 0 && now.Sub(k.made) < 2*ticketRotation {
			next = append(next, k.keys[0]) // still within its second period
		}
		k.keys, k.made = next, now
	}
	return k.keys
}

// forget drops every key: no ticket issued so far resumes (a new CA was set).
func (k *ticketKeys) forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = nil
}

// applyTo sets the ticket keys on cfg.
func (k *ticketKeys) applyTo(cfg *tls.Config) { cfg.SetSessionTicketKeys(k.current()) }

// upstreamSessionsMax bounds the sessions kept toward sites (least recently used out).
const upstreamSessionsMax = 512

// upstreamSessions keeps the sessions toward sites whose certificate was trusted.
type upstreamSessions struct{ lru tls.ClientSessionCache }

func newUpstreamSessions() *upstreamSessions {
	return &upstreamSessions{lru: tls.NewLRUClientSessionCache(upstreamSessionsMax)}
}

// scope returns the session cache for one connection to addr (the host:port dialled,
// as the client named it) with the SNI sni. Go asks it by SNI; the scope ignores
// Go's key and files the session under (addr, sni) alone.
func (u *upstreamSessions) scope(addr, sni string) *sessionScope {
	return &sessionScope{u: u, key: addr + "\x00" + sni}
}

// sessionScope is one upstream connection's view of upstreamSessions: what the
// handshake hands it is held back until the connection's certificate is trusted
// (keep), and thrown away if it is not. It implements tls.ClientSessionCache.
type sessionScope struct {
	u   *upstreamSessions
	key string

	mu      sync.Mutex // protects trusted and pending
	trusted bool
	pending *tls.ClientSessionState
}

// Get returns the session kept for this scope's (host, port, SNI), if any.
func (s *sessionScope) Get(string) (*tls.ClientSessionState, bool) { return s.u.lru.Get(s.key) }

// Put keeps cs once the connection's certificate is trusted; before that (a TLS 1.2
// ticket comes inside the handshake) it is held. A nil cs drops the session.
func (s *sessionScope) Put(_ string, cs *tls.ClientSessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case cs == nil:
		s.pending = nil
		s.u.lru.Put(s.key, nil)
	case s.trusted:
		s.u.lru.Put(s.key, cs)
	default:
		s.pending = cs
	}
}

// keep marks the connection's certificate trusted: its sessions may be resumed.
func (s *sessionScope) keep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trusted = true
	if s.pending != nil {
		s.u.lru.Put(s.key, s.pending)
		s.pending = nil
	}
}

// forget drops the held session and the one kept for this scope: the certificate
// was not trusted this time.
func (s *sessionScope) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = nil
	s.u.lru.Put(s.key, nil)
}
