package server

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// serveV2 answers POST /v2/check with a signed answer whenever the notary could decide
// anything (mismatch and unreachable included: the status is in the signed body).
func (h *Handler) serveV2(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, r, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxV2RequestSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, r, http.StatusRequestEntityTooLarge, "request too large")
			return
		}
		httpError(w, r, http.StatusBadRequest, "failed to read request")
		return
	}
	req, err := protocol.ParseV2Request(raw)
	if err != nil {
		httpError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	a, err := h.cfg.Notary.Query(r.Context(), Question{Host: req.Host, Port: req.Port, SHA256: req.SHA256})
	if err != nil {
		code, msg := queryError(err)
		httpError(w, r, code, msg)
		return
	}
	ans := protocol.V2Answer{
		Nonce:  req.Nonce,
		Time:   a.Time.Unix(),
		Target: protocol.V2Target{Host: req.Host, Port: req.Port},
		SHA256: req.SHA256,
		Window: int64(h.cfg.Notary.cfg.Window.Seconds()),
		Checks: a.Checks,
		Status: a.Status,
	}
	for _, o := range a.History {
		ans.Observations = append(ans.Observations, protocol.V2Observation{SHA256: o.SHA256, FirstSeen: o.FirstSeen.Unix(), LastSeen: o.LastSeen.Unix()})
	}
	signStart := time.Now()
	body, err := protocol.SignV2(ans, h.identity().V2Signer)
	h.metrics.Signed("v2", time.Since(signStart))
	if err != nil {
		h.log.Error("failed to sign v2 answer", "err", err)
		httpError(w, r, http.StatusServiceUnavailable, "failed to sign answer")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
