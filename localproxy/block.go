package localproxy

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// Headers on every block page; their names and values are stable for scripts.
const (
	// HeaderVerdict is "rejected" when the notaries or a rule rejected the certificate,
	// "error" when no verdict could be reached (site unreachable, verifier failure).
	HeaderVerdict = "X-Convergence-Verdict"
	// HeaderReason carries the verdict's one-line reason.
	HeaderReason = "X-Convergence-Reason"
)

//go:embed block.html
var blockHTML string

var blockTmpl = template.Must(template.New("block").Parse(blockHTML))

type blockPage struct {
	Site        string
	Headline    string
	Reason      string
	Fingerprint string
	Answers     []verifier.NotaryAnswer
	Agreed      int
	Asked       int
}

// serveBlock answers the client's first request on an intercepted connection with the
// block page (HTTP/1.1, Connection: close). The upstream is already closed, so nothing
// of the request can reach the site; the request is read only to answer it politely.
func (p *Proxy) serveBlock(tc interface {
	io.ReadWriter
	SetDeadline(time.Time) error
}, st *interception) {
	v := st.verdict
	page := blockPage{
		Site:        v.Target.String(),
		Fingerprint: v.FingerprintSHA256,
		Answers:     v.Answers,
		Agreed:      v.Agreed,
		Asked:       v.Asked,
		Reason:      v.Reason,
	}
	status, verdictHeader := http.StatusForbidden, "rejected"
	page.Headline = "The certificate this site presented was not confirmed by your notaries, so the connection was stopped."
	if st.failure != nil {
		status, verdictHeader = http.StatusBadGateway, "error"
		page.Headline = "Convergence could not check this site's certificate, so the connection was stopped."
		page.Reason = st.failure.Error()
	}
	if page.Reason == "" {
		page.Reason = "no reason given"
	}
	if page.Site == ":0" {
		page.Site = "this site"
	}

	tc.SetDeadline(time.Now().Add(p.limits.HeaderTimeout))
	br := bufio.NewReader(io.LimitReader(tc, int64(p.limits.MaxHeaderBytes)))
	req, err := http.ReadRequest(br)
	if err != nil {
		p.log.Debug("failed to read request for block page", "site", page.Site, "err", err)
		return
	}
	req.Body.Close() // never read: the body goes nowhere
	if page.Site == "this site" && req.Host != "" {
		page.Site = req.Host
	}

	var body bytes.Buffer
	contentType := "text/html; charset=utf-8"
	if wantsHTML(req) {
		if err := blockTmpl.Execute(&body, page); err != nil {
			p.log.Error("failed to render block page", "err", err)
			return
		}
	} else {
		contentType = "text/plain; charset=utf-8"
		fmt.Fprintf(&body, "convergence: %s: %s: %s\n", verdictHeader, page.Site, oneLine(page.Reason))
		for _, a := range page.Answers {
			fmt.Fprintf(&body, "notary %s: %s %s\n", a.Notary, a.Kind, oneLine(a.Err))
		}
	}
	resp := &http.Response{
		StatusCode:    status,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		ContentLength: int64(body.Len()),
		Body:          io.NopCloser(&body),
		Close:         true,
	}
	resp.Header.Set("Content-Type", contentType)
	resp.Header.Set("Content-Length", strconv.Itoa(body.Len()))
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set(HeaderVerdict, verdictHeader)
	resp.Header.Set(HeaderReason, oneLine(page.Reason))
	if err := resp.Write(tc); err != nil {
		p.log.Debug("failed to write block page", "site", page.Site, "err", err)
	}
}

// wantsHTML reports whether the client asked for HTML (browsers do); others get text.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// oneLine makes s safe for a header value and a single text line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.ToValidUTF8(s, "?")
}

func slogLevelFor(v verifier.Verdict) slog.Level {
	if v.Allowed() {
		return slog.LevelInfo
	}
	return slog.LevelWarn
}
