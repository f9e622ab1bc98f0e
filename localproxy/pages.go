package localproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// CheckHost is the name the proxy answers itself, never dials: its check page. The
// .invalid top-level domain never resolves (RFC 6761), so only a browser that goes
// through this proxy reaches it, and over HTTPS only one that trusts the local CA,
// which mints its leaf, sees the page.
const CheckHost = "check.convergence.invalid"

// CheckURL is the check page's address, for the Setup tab's button.
const CheckURL = "https://" + CheckHost + "/"

// AllowFor is how long the block page's ways out let a destination through
// unchecked: the site ("allow this site for 10 minutes") or a captive portal's
// sign-in page.
const AllowFor = 10 * time.Minute

// CheckVisit is one browser that came through the proxy to the check host over TLS.
type CheckVisit struct {
	// Trusted is set when the handshake completed: the browser trusts the local CA.
	// When it is not, the browser refused the proxy's leaf (Alert says how).
	Trusted   bool
	Host      string // the name the browser asked for: CheckHost, or an intercepted site
	Alert     string // the TLS alert the browser sent, e.g. "unknown certificate authority"
	UserAgent string // from the check page's request; empty when untrusted
	Time      time.Time
}

// Portal is a captive portal in front of the network: notaries are unreachable
// because the network wants a sign-in first.
type Portal struct {
	SignInURL string // where the network's probe was sent (the sign-in page)
	Host      string // SignInURL's host, normalised: the one destination let through
}

// Pages are the hooks of the pages the proxy serves itself: the check page and the
// block page's ways out. Each may be nil. They run on a connection's goroutine and
// must return quickly, except Portal, which may probe within its ctx.
type Pages struct {
	// OnCheck is told of every browser that comes through to the check host, and of
	// every client that refuses a minted leaf with a certificate alert (not trusted).
	OnCheck func(CheckVisit)
	// Allow lets host:port (0: every port) through unchecked for d; the block page's
	// "allow for 10 minutes" and "open the sign-in page" call it.
	Allow func(host string, port int, d time.Duration, why string) error
	// Portal reports the captive portal in front of the network, if one is there; the
	// block page asks it when the notaries were unreachable.
	Portal func(ctx context.Context) (Portal, bool)
	// Passthrough makes the user's decision to verify host:port without reading
	// (Config.Passthrough): the block page's "check it without interception" for a
	// site that asks for a client certificate.
	Passthrough func(host string, port int, why string) error
}

// wayOut is what a block page's button may do once, with its token.
type wayOut struct {
	action  string // "allow", "portal" or "passthrough"
	target  verifier.Target
	portal  Portal
	expires time.Time
}

// maxWayOuts bounds the tokens kept; the oldest go first.
const maxWayOuts = 256

// wayOuts holds the tokens of the block pages served: a button works only with the
// token of a page this proxy served, so another site cannot post to the check host
// to allow itself. Safe for concurrent use.
type wayOuts struct {
	mu sync.Mutex // protects m
	m  map[string]wayOut
}

// add keeps w and returns its token.
func (ws *wayOuts) add(w wayOut, now time.Time) string {
	var b [16]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	w.expires = now.Add(AllowFor)
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.m == nil {
		ws.m = map[string]wayOut{}
	}
	for k, e := range ws.m {
		if !now.Before(e.expires) {
			delete(ws.m, k)
		}
	}
	for len(ws.m) >= maxWayOuts {
		oldest := ""
		for k, e := range ws.m {
			if oldest == "" || e.expires.Before(ws.m[oldest].expires) {
				oldest = k
			}
		}
		delete(ws.m, oldest)
	}
	ws.m[tok] = w
	return tok
}

// take returns the way out for tok and forgets it: each works once.
func (ws *wayOuts) take(tok, action string, now time.Time) (wayOut, bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w, ok := ws.m[tok]
	if !ok || w.action != action || !now.Before(w.expires) {
		return wayOut{}, false
	}
	delete(ws.m, tok)
	return w, true
}
