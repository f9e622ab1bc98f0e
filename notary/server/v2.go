package server

import (
	"errors"
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
	req, code, err := readV2Request(r)
	if err != nil {
		httpError(w, r, code, err.Error())
		return
	}
	a, err := h.cfg.Notary.Query(r.Context(), Question{Host: req.Host, Port: req.Port, SHA256: req.SHA256})
	if err != nil {
		code, msg := queryError(err)
		httpError(w, r, code, msg)
		return
	}
	// Prepared once per history and outcome; the nonce and the time are per request.
	id := h.identity()
	p, err := a.view.v2Answer(id, protocol.V2Target{Host: req.Host, Port: req.Port}, req.SHA256,
		int64(h.cfg.Notary.cfg.Window.Seconds()), a)
	var body []byte
	switch {
	case err != nil:
	case r.Header.Get(protocol.V2BatchHeader) == protocol.V2BatchMerkle:
		// The client accepts batch signatures: one signature over the Merkle root of
		// the answers waiting at once (batchsign.go).
		var canon []byte
		if canon, err = p.Canonical(req.Nonce, a.Time.Unix()); err == nil {
			body, err = h.signer.sign(r.Context(), id, p.Alg(), canon)
		}
	default:
		signStart := time.Now()
		body, err = p.Sign(req.Nonce, a.Time.Unix(), id.V2Signer)
		h.metrics.Signed("v2", time.Since(signStart))
	}
	if err != nil && r.Context().Err() != nil {
		return // the request ended while its batch was signed: nobody reads an answer
	}
	if err != nil {
		h.log.Error("failed to sign v2 answer", "err", err)
		httpError(w, r, http.StatusServiceUnavailable, "failed to sign answer")
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(body)
}

// readV2Request reads r's body into a pooled buffer and parses it; the status code is
// what an error answers.
func readV2Request(r *http.Request) (protocol.V2Request, int, error) {
	buf := bodyBufs.Get().(*bodyBuf)
	defer bodyBufs.Put(buf)
	raw, err := readBody(r, buf, protocol.MaxV2RequestSize)
	switch {
	case errors.Is(err, errBodyTooLarge):
		return protocol.V2Request{}, http.StatusRequestEntityTooLarge, errors.New("request too large")
	case err != nil:
		return protocol.V2Request{}, http.StatusBadRequest, errors.New("failed to read request")
	}
	req, err := protocol.ParseV2Request(raw) // copies what it keeps out of buf
	return req, http.StatusBadRequest, err
}
