package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
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
}

type handler struct {
	cfg   HandlerConfig
	lim   *limiter
	mux   *http.ServeMux
	log   *slog.Logger
	page  []byte
	start time.Time
}

// NewHandler returns the notary's HTTP handler: v1 at /target/, v2 at /v2/check, the
// bundle at /.well-known/convergence.notary, a human page at /, and /healthz.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	h := &handler{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger, start: time.Now()}
	if h.log == nil {
		h.log = slog.Default()
	}
	if cfg.RatePerSecond > 0 {
		burst := cfg.Burst
		if burst <= 0 {
			burst = max(1, int(cfg.RatePerSecond))
		}
		h.lim = newLimiter(cfg.RatePerSecond, burst, cfg.MaxClients)
	}
	page, err := renderPage(cfg)
	if err != nil {
		return nil, err
	}
	h.page = page
	h.mux.HandleFunc(protocol.V1PathPrefix, h.limited(h.serveV1))
	h.mux.HandleFunc(protocol.V2Path, h.limited(h.serveV2))
	h.mux.HandleFunc(protocol.WellKnownBundlePath, h.serveBundle)
	h.mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	h.mux.HandleFunc("/", h.servePage)
	return h, nil
}

// ServeHTTP logs each request without the client's address (unless configured) and
// without the target (at debug level only): what people browse is not the log's business.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	h.mux.ServeHTTP(sw, r)
	attrs := []any{"method", r.Method, "kind", kindOf(r.URL.Path), "status", sw.code, "duration", time.Since(start).Round(time.Microsecond)}
	if h.cfg.LogClientIPs {
		attrs = append(attrs, "client", r.RemoteAddr)
	}
	h.log.Info("request", attrs...)
	h.log.Debug("request target", "path", r.URL.Path)
}

func kindOf(path string) string {
	switch {
	case strings.HasPrefix(path, protocol.V1PathPrefix):
		return "v1"
	case path == protocol.V2Path:
		return "v2"
	case path == protocol.WellKnownBundlePath:
		return "bundle"
	case path == "/" || path == "/healthz":
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
func (h *handler) limited(next http.HandlerFunc) http.HandlerFunc {
	if h.lim == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && !h.lim.allow(ap.Addr(), time.Now()) {
			w.Header().Set("Retry-After", "1")
			httpError(w, r, http.StatusTooManyRequests, "rate limit exceeded")
			return
		}
		next(w, r)
	}
}

// httpError writes a short unsigned error: JSON {"error": ...} for v2, plain text else.
func httpError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if r.URL.Path == protocol.V2Path {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":` + strconv.Quote(msg) + "}\n"))
		return
	}
	http.Error(w, msg, code)
}

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

func (h *handler) serveBundle(w http.ResponseWriter, r *http.Request) {
	if len(h.cfg.Bundle) == 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="notary.notary"`)
	_, _ = w.Write(h.cfg.Bundle)
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(h.page)
}
