package localproxy

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
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
	// HeaderReason carries the one machine-readable reason (verifier.ReasonCode):
	// notaries-disagree, notary-impersonated, notaries-unreachable, below-threshold,
	// refused-tunnel, and for the proxy's own failures site-unreachable, check-failed.
	HeaderReason = "X-Convergence-Reason"
	// HeaderDetail carries the verdict's one line in words, for people reading logs.
	HeaderDetail = "X-Convergence-Detail"
)

//go:embed block.html
var blockHTML string

var blockTmpl = template.Must(template.New("block").Parse(blockHTML))

// blockAnswer is one notary's answer as the block page shows it.
type blockAnswer struct {
	verifier.NotaryAnswer
	Words string
}

type blockPage struct {
	Site        string
	Code        verifier.ReasonCode
	Attack      bool // a disagreement or an impostor: the safe way out is to go back
	Headline    string
	Explain     string
	Reason      string // the verdict's line, or the error: behind Details
	Fingerprint string
	Answers     []blockAnswer
	Asked       int    // notaries asked: the counts are shown when there were some
	Counts      string // verifier.CountWords: the counts in the words of every surface
	CheckURL    string // where the buttons post
	AllowToken  string // set when "allow this site for 10 minutes" is offered
	Portal      *Portal
	PortalToken string
	AllowMins   int
	PassToken   string // set when "check it without interception" is offered
	PassCommand string // the same, from the terminal
}

// blockCode is the reason the block page gives: the verdict's code, or the proxy's
// own when no verdict could be reached.
func blockCode(st *interception) verifier.ReasonCode {
	switch {
	case errors.Is(st.failure, errClientCertAsked):
		return verifier.ReasonClientCert
	case st.failure != nil && st.verdict.FingerprintSHA256 == "":
		return verifier.ReasonSiteUnreachable
	case st.verdict.Code != verifier.ReasonNone:
		return st.verdict.Code
	case st.failure != nil:
		return verifier.ReasonCheckFailed
	}
	// A Checker that gives no code (not the verifier) rejected without saying why.
	return verifier.ReasonBelowThreshold
}

// newBlockPage words the block page for an interception, with the ways out its
// reason allows; for an outage it asks whether a captive portal is in the way.
func (p *Proxy) newBlockPage(ctx context.Context, st *interception) blockPage {
	v := st.verdict
	code := blockCode(st)
	page := blockPage{
		Site: v.Target.String(), Code: code, Attack: code.Attack(), Fingerprint: v.FingerprintSHA256,
		Asked: v.Asked, Counts: verifier.CountWords(v), Reason: v.Reason, CheckURL: CheckURL,
		AllowMins: int(AllowFor / time.Minute),
	}
	page.Headline, page.Explain = blockWords(code, v)
	for _, a := range v.Answers {
		page.Answers = append(page.Answers, blockAnswer{a, answerWords(a.Kind)})
	}
	if st.failure != nil {
		page.Reason = st.failure.Error()
	}
	if page.Reason == "" {
		page.Reason = "no reason given"
	}
	if page.Site == ":0" {
		page.Site = "this site"
	}
	now := time.Now()
	if allowable(code) && p.cfg.Pages.Allow != nil && v.Target.Host != "" {
		page.AllowToken = p.wayOuts.add(wayOut{action: "allow", target: v.Target}, now)
	}
	if code == verifier.ReasonClientCert && st.connect.Host != "" {
		page.Site = st.connect.String()
		page.PassCommand = "convergence decisions passthrough " + st.connect.String()
		if p.cfg.Pages.Passthrough != nil {
			page.PassToken = p.wayOuts.add(wayOut{action: "passthrough", target: st.connect}, now)
		}
	}
	if code == verifier.ReasonUnreachable && p.cfg.Pages.Portal != nil && p.cfg.Pages.Allow != nil {
		pctx, cancel := context.WithTimeout(ctx, portalAskTimeout)
		portal, ok := p.cfg.Pages.Portal(pctx)
		cancel()
		if ok {
			page.Portal = &portal
			page.PortalToken = p.wayOuts.add(wayOut{action: "portal", portal: portal}, now)
			page.Headline = "This network wants you to sign in before Convergence can reach your notaries"
			page.Explain = "The network answered Convergence's probe with a sign-in page (" + portal.Host + "), so your notaries could not be reached and this site is blocked. " +
				"This is not an attack. Sign in, then try again."
		}
	}
	return page
}

// portalAskTimeout bounds the block page's wait for the captive-portal probe.
const portalAskTimeout = 5 * time.Second

// serveBlock answers the client's first request on an intercepted connection with the
// block page (HTTP/1.1, Connection: close). The upstream is already closed, so nothing
// of the request can reach the site; the request is read only to answer it politely.
func (p *Proxy) serveBlock(tc interface {
	io.ReadWriter
	SetDeadline(time.Time) error
}, st *interception) {
	status, verdictHeader := http.StatusForbidden, "rejected"
	if st.failure != nil {
		status, verdictHeader = http.StatusBadGateway, "error"
	}
	tc.SetDeadline(time.Now().Add(p.limits.HeaderTimeout))
	br := bufio.NewReader(io.LimitReader(tc, int64(p.limits.MaxHeaderBytes)))
	req, err := http.ReadRequest(br)
	if err != nil {
		p.log.Debug("failed to read request for block page", "site", st.verdict.Target.String(), "err", err)
		return
	}
	req.Body.Close() // never read: the body goes nowhere
	page := p.newBlockPage(req.Context(), st)
	if page.Site == "this site" && req.Host != "" {
		page.Site = req.Host
	}
	tc.SetDeadline(time.Now().Add(p.limits.HeaderTimeout))

	var body bytes.Buffer
	contentType := "text/html; charset=utf-8"
	if wantsHTML(req) {
		if err := blockTmpl.Execute(&body, page); err != nil {
			p.log.Error("failed to render block page", "err", err)
			return
		}
	} else {
		contentType = "text/plain; charset=utf-8"
		fmt.Fprintf(&body, "convergence: %s: %s: %s: %s\n", verdictHeader, page.Site, page.Code, oneLine(page.Headline))
		fmt.Fprintf(&body, "%s\n", oneLine(page.Explain))
		if page.Portal != nil {
			fmt.Fprintf(&body, "captive portal: sign in at %s\n", page.Portal.SignInURL)
		}
		if page.Asked > 0 {
			fmt.Fprintf(&body, "notaries: %s\n", page.Counts)
		}
		if page.PassCommand != "" {
			fmt.Fprintf(&body, "to check it without interception: %s\n", page.PassCommand)
		}
		fmt.Fprintf(&body, "detail: %s\n", oneLine(page.Reason))
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
	resp.Header.Set(HeaderReason, string(page.Code))
	resp.Header.Set(HeaderDetail, oneLine(page.Reason))
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
