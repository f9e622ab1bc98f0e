package server

import (
	"net/http"
	"net/netip"
	"strings"
)

// client returns the address a request is keyed on (rate limit, /metrics access, the
// optional log field): the peer's, or, when the peer is a trusted proxy, the client its
// X-Forwarded-For names. The header is read from the right: each trusted proxy appends
// the address it was reached from, so the first address from the right that is not a
// trusted proxy is the client; whatever lies left of it was written by the client and
// proves nothing. From an untrusted peer the header is ignored whole.
func (h *Handler) client(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	proxies := h.state.Load().proxies
	if !inAny(proxies, addr) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr // garbage: keep the last proxy's address, the last one known true
			}
			addr = hop.Unmap()
			if !inAny(proxies, addr) {
				return addr
			}
		}
	}
	return addr
}

// TrustedProxy reports whether a is one of the trusted proxies (ServeConfig.SharedPeer).
func (h *Handler) TrustedProxy(a netip.Addr) bool { return inAny(h.state.Load().proxies, a.Unmap()) }

func inAny(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// serveMetrics writes the metrics, to the clients MetricsFrom allows only.
func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if c := h.client(r); !inAny(h.cfg.MetricsFrom, c) {
		http.Error(w, "metrics are served to the addresses --metrics-from allows only", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = h.metrics.WriteTo(w)
}
