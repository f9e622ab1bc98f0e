package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// HandlerConfig sets up the HTTP handler.
type HandlerConfig struct {
	Notary   *Notary        // required
	Identity *keys.Identity // required: signs the answers
	Bundle   []byte         // the notary's own .notary file, served at the well-known path
	Name     string         // shown on the human page
	// RatePerSecond and Burst limit queries per client (IPv4 address or IPv6 /64);
	// zero RatePerSecond disables the limit. MaxClients bounds the clients tracked.
	RatePerSecond float64
	Burst         int
	MaxClients    int
	Logger        *slog.Logger // default slog.Default()
	LogClientIPs  bool         // off by default: the notary does not record who asks
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed: a
	// request from one is keyed (rate limit, metrics access) on the client it names.
	// From any other peer the header is ignored.
	TrustedProxies []netip.Prefix
	// MetricsFrom are the clients allowed to read /metrics (default loopback only).
	MetricsFrom []netip.Prefix
	// MaxRequestLines is how many requests a second get a log line each (default 100);
	// the rest are counted by kind and status in one line when the second is over.
	MaxRequestLines int
}

// Handler is the notary's HTTP handler. Its identity, bundle and trusted proxies can be
// replaced while it serves (Reload, on SIGHUP).
type Handler struct {
	cfg     HandlerConfig
	lim     *limiter
	reqs    *requestLog
	mux     *http.ServeMux
	log     *slog.Logger
	metrics *Metrics
	state   atomic.Pointer[handlerState]
	start   time.Time
	signer  batchSigner // v2 answers of clients that accept batch signatures
	v1, v2  http.HandlerFunc
}

// handlerState is what Reload replaces, whole.
type handlerState struct {
	id      *keys.Identity
	bundle  []byte
	page    []byte
	proxies []netip.Prefix
}

// NewHandler returns the notary's HTTP handler: v1 at /target/, v2 at /v2/check, the
// bundle at /.well-known/convergence.notary, a human page at /, /healthz and /metrics.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger, start: time.Now(), metrics: cfg.Notary.Metrics()}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.reqs = newRequestLog(h.log, cfg.MaxRequestLines)
	h.signer.signed = h.metrics.BatchSigned
	if len(h.cfg.MetricsFrom) == 0 {
		h.cfg.MetricsFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if cfg.RatePerSecond > 0 {
		burst := cfg.Burst
		if burst <= 0 {
			burst = max(1, int(cfg.RatePerSecond))
		}
		h.lim = newLimiter(cfg.RatePerSecond, burst, cfg.MaxClients)
	}
	if err := h.Reload(cfg.Identity, cfg.Bundle, cfg.TrustedProxies); err != nil {
		return nil, err
	}
	h.v1, h.v2 = h.limited(h.serveV1), h.limited(h.serveV2) // routed by route, before the mux
	h.mux.HandleFunc(protocol.WellKnownBundlePath, h.serveBundle)
	h.mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	h.mux.HandleFunc("/metrics", h.serveMetrics)
	h.mux.HandleFunc("/", h.servePage)
	return h, nil
}

// Reload replaces the identity (answers signed and handshakes made from now on use it),
// the served bundle and the trusted proxies.
func (h *Handler) Reload(id *keys.Identity, bundle []byte, proxies []netip.Prefix) error {
	page, err := renderPage(h.cfg.Name, id)
	if err != nil {
		return err
	}
	h.state.Store(&handlerState{id: id, bundle: bundle, page: page, proxies: proxies})
	return nil
}

func (h *Handler) identity() *keys.Identity { return h.state.Load().id }

// GetCertificate serves the current identity's certificate (tls.Config.GetCertificate).
func (h *Handler) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return &h.identity().TLS, nil
}

// ServeHTTP logs each request without the client's address (unless configured) and
// without the target (at debug level only): what people browse is not the log's business.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	kind := h.route(sw, r)
	h.metrics.Request(kind, sw.code)
	ctx := r.Context()
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	end := time.Now()
	if h.reqs.allow(end, kind, sw.code) {
		attrs := [5]slog.Attr{slog.String("method", r.Method), slog.String("kind", kind), slog.Int("status", sw.code),
			slog.Duration("duration", end.Sub(start).Round(time.Microsecond))}
		n := 4
		if h.cfg.LogClientIPs {
			attrs[n] = slog.String("client", h.client(r).String())
			n++
		}
		h.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs[:n]...)
	}
	if h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.LogAttrs(ctx, slog.LevelDebug, "request target", slog.String("path", r.URL.Path))
	}
}

// route serves r and returns its kind (the label of its metrics and log line). The
// queries, nearly all of a notary's requests, are matched by prefix before the mux: its
// pattern matching was a sixth of the handler's time on a cached v1 answer. A query
// path the mux would clean or redirect (/target/../x) is a bad target to serveV1.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) string {
	kind := kindOf(r.URL.Path)
	switch kind {
	case "v1":
		h.v1(w, r)
	case "v2":
		h.v2(w, r)
	default:
		h.mux.ServeHTTP(w, r)
	}
	return kind
}

func kindOf(path string) string {
	switch {
	case strings.HasPrefix(path, protocol.V1PathPrefix):
		return "v1"
	case path == protocol.V2Path:
		return "v2"
	case path == protocol.WellKnownBundlePath:
		return "bundle"
	case path == "/" || path == "/healthz" || path == "/metrics":
		return path
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// limited applies the per-client rate limit.
func (h *Handler) limited(next http.HandlerFunc) http.HandlerFunc {
	if h.lim == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if c := h.client(r); c.IsValid() && !h.lim.allow(c, time.Now()) {
			w.Header().Set("Retry-After", "1")
			httpError(w, r, http.StatusTooManyRequests, "rate limit exceeded")
			return
		}
		next(w, r)
	}
}

// httpError writes a short unsigned error: JSON {"error": ...} for v2, plain text else.
// A 503 (store down, busy, target unreachable) says when to ask again.
func httpError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	if r.URL.Path == protocol.V2Path {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":` + strconv.Quote(msg) + "}\n"))
		return
	}
	http.Error(w, msg, code)
}

// retryAfter is the Retry-After of a 503, in seconds: about how long a store outage
// takes to be noticed over (storeRetryEvery) and a busy notary to free a probe slot.
const retryAfter = "5"

// queryError maps an error from Notary.Query to a status code and a message that
// carries no internal detail beyond the policy reason.
func queryError(err error) (int, string) {
	switch {
	case errors.Is(err, ErrRefused):
		return http.StatusForbidden, "target refused by this notary's policy: " + err.Error()
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable, "notary busy"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "request ended before the answer"
	}
	return http.StatusServiceUnavailable, "notary store failed"
}

func (h *Handler) serveBundle(w http.ResponseWriter, r *http.Request) {
	bundle := h.state.Load().bundle
	if len(bundle) == 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="notary.notary"`)
	_, _ = w.Write(bundle)
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(h.state.Load().page)
}
