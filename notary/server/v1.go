package server

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/store"
)

// maxFormSize bounds a v1 POST body (one fingerprint field is about 71 bytes).
const maxFormSize = 1 << 10

// serveV1 answers the original protocol exactly: 200 confirmed, 409 different, 400 bad
// request, 405 other methods, 503 unreachable or store failure, with the original's
// signed JSON body on 200 and 409.
func (h *Handler) serveV1(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		httpError(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	host, port, err := protocol.ParseV1Path(r.URL.Path)
	if err != nil {
		httpError(w, r, http.StatusBadRequest, "bad target: want /target/<host>+<port>")
		return
	}
	q := Question{Host: host, Port: port}
	if r.Method == http.MethodPost {
		fp, ok := v1Fingerprint(w, r)
		if !ok {
			httpError(w, r, http.StatusBadRequest, "bad form body")
			return
		}
		if fp == "" {
			httpError(w, r, http.StatusBadRequest, "no fingerprint")
			return
		}
		if q.SHA1, err = protocol.NormalizeSHA1Fingerprint(fp); err != nil {
			httpError(w, r, http.StatusBadRequest, "bad fingerprint: want SHA-1, colon-separated hex")
			return
		}
	}
	a, err := h.cfg.Notary.Query(r.Context(), q)
	if err != nil {
		code, msg := queryError(err)
		httpError(w, r, code, msg)
		return
	}
	code := v1Code(a, q.asked())
	if code == http.StatusServiceUnavailable {
		httpError(w, r, code, "could not reach the target")
		return
	}
	// Signed once per history; the status code above follows freshness per request.
	body, took, err := a.view.v1Body(h.identity())
	if took > 0 {
		h.metrics.Signed("v1", took)
	}
	if err != nil {
		h.log.Error("failed to sign v1 answer", "err", err)
		httpError(w, r, http.StatusServiceUnavailable, "failed to sign answer")
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// v1Fingerprint returns the form's fingerprint field as r.ParseForm and
// r.PostForm.Get("fingerprint") give it; ok is false where ParseForm fails. The body the
// original client sends, "fingerprint=<fp>" and nothing else, is read into a pooled
// buffer (readBody) and decoded in place, one allocation in all (ParseForm made six);
// anything else (a query string, another content type) goes through ParseForm.
func v1Fingerprint(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.URL.RawQuery == "" && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		buf := bodyBufs.Get().(*bodyBuf)
		defer bodyBufs.Put(buf)
		body, err := readBody(r, buf, maxFormSize)
		if err != nil {
			return "", false // over maxFormSize or a failed read, as with ParseForm
		}
		if v, ok := bytes.CutPrefix(body, []byte("fingerprint=")); ok && !bytes.ContainsAny(v, "&;=") {
			return unescapeFormValue(v)
		}
		form, err := url.ParseQuery(string(body))
		return form.Get("fingerprint"), err == nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		return "", false
	}
	return r.PostForm.Get("fingerprint"), true
}

// unescapeFormValue decodes v in place as url.QueryUnescape does ('+' is a space, %XX a
// byte) and returns it; ok is false where QueryUnescape fails (a bad escape).
func unescapeFormValue(v []byte) (string, bool) {
	n := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '%':
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return "", false
			}
			v[n] = unhex(v[i+1])<<4 | unhex(v[i+2])
			i += 2
		case '+':
			v[n] = ' '
		default:
			v[n] = c
		}
		n++
	}
	return string(v[:n]), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// v1Code maps an answer to the original's status codes. A GET answers 200 when the
// notary has a fresh view of the target.
func v1Code(a Answer, asked bool) int {
	if !asked {
		if net, ok := networkVerdict(a); ok && net == protocol.VerdictError {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	switch a.Status {
	case protocol.StatusConfirmed:
		return http.StatusOK
	case protocol.StatusUnreachable:
		return http.StatusServiceUnavailable
	}
	return http.StatusConflict
}

func networkVerdict(a Answer) (protocol.Verdict, bool) {
	for _, c := range a.Checks {
		if c.Name == protocol.CheckNetwork {
			return c.Verdict, true
		}
	}
	return "", false
}

func v1Entries(hist []store.Observation) []protocol.V1Entry {
	out := make([]protocol.V1Entry, 0, len(hist))
	for _, o := range hist {
		out = append(out, protocol.V1Entry{Fingerprint: o.SHA1, Start: o.FirstSeen.Unix(), Finish: o.LastSeen.Unix()})
	}
	return out
}
