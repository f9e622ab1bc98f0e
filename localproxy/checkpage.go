package localproxy

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crypto/tls"

	"github.com/convergence-ng/convergence/verifier"
)

//go:embed checkpage.html
var checkHTML string

var checkTmpl = template.Must(template.New("check").Parse(checkHTML))

// isCheckHost reports whether host (normalised, without port) is the check host.
func isCheckHost(host string) bool { return host == CheckHost }

// serveCheckConnect answers a CONNECT to the check host itself: nothing is dialled.
// The TLS handshake uses a leaf minted by the local CA; a browser that completes it
// trusts the CA and gets the check page, one that refuses it is counted.
func (p *Proxy) serveCheckConnect(ctx context.Context, w http.ResponseWriter) {
	raw, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.log.Warn("failed to hijack CONNECT", "err", err)
		return
	}
	client := &bufferedConn{Conn: raw, r: brw.Reader}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	client.SetDeadline(time.Now().Add(p.limits.HeaderTimeout))
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	ca := p.ca.Load()
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return ca.Leaf(CheckHost)
		},
	}
	sn := &alertSniffer{Conn: client}
	tc := tls.Server(sn, cfg)
	hctx, cancel := context.WithTimeout(ctx, p.limits.HandshakeTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	sn.done.Store(true)
	if err != nil {
		p.noteHandshakeFailure(CheckHost, err, sn)
		return
	}
	p.serveCheckRequests(tc, "https")
}

// serveCheckPlain answers a plain-HTTP request for the check host itself.
func (p *Proxy) serveCheckPlain(w http.ResponseWriter, r *http.Request) {
	p.answerCheck(w, r, "http")
}

// serveCheckRequests reads requests on the check host's TLS connection and answers
// each, until the client closes, a request fails or the connection idles.
func (p *Proxy) serveCheckRequests(c net.Conn, scheme string) {
	br := bufio.NewReader(c)
	for range 32 { // a bound: a page and its few requests, then the client reconnects
		c.SetDeadline(time.Now().Add(p.limits.HeaderTimeout))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		rec := newResponseBuffer()
		p.answerCheck(rec, req, scheme)
		// A form's body is small; more than that is not read, and the connection ends.
		io.Copy(io.Discard, io.LimitReader(req.Body, 64<<10))
		req.Body.Close()
		if err := rec.write(c, req); err != nil || req.Close || rec.header.Get("Connection") == "close" {
			return
		}
	}
}

// answerCheck is the check host's handler, for HTTPS (trusted) and plain HTTP.
func (p *Proxy) answerCheck(w http.ResponseWriter, r *http.Request, scheme string) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		protected := scheme == "https"
		if protected && p.cfg.Pages.OnCheck != nil {
			p.cfg.Pages.OnCheck(CheckVisit{Trusted: true, Host: CheckHost, UserAgent: r.UserAgent(), Time: time.Now()})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Convergence-Check", map[bool]string{true: "protected", false: "plain-http"}[protected])
		checkTmpl.Execute(w, map[string]any{
			"Protected": protected, "Paused": p.paused(), "CA": p.ca.Load().Certificate().Subject.CommonName,
			"URL": CheckURL,
		})
	case r.Method == http.MethodPost && scheme == "https" && (r.URL.Path == "/allow" || r.URL.Path == "/portal" || r.URL.Path == "/passthrough"):
		p.takeWayOut(w, r)
	default:
		http.NotFound(w, r)
	}
}

// takeWayOut carries out a block page's button: allow the site for AllowFor, or the
// captive portal's sign-in host, then sends the browser there.
func (p *Proxy) takeWayOut(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	action := strings.TrimPrefix(r.URL.Path, "/")
	wo, ok := p.wayOuts.take(r.PostForm.Get("token"), action, time.Now())
	if !ok || (action == "passthrough" && p.cfg.Pages.Passthrough == nil) || (action != "passthrough" && p.cfg.Pages.Allow == nil) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, "This button has expired or was not made by Convergence. Load the site again to get a fresh block page.")
		return
	}
	var err error
	var next string
	switch action {
	case "allow":
		err = p.cfg.Pages.Allow(wo.target.Host, wo.target.Port, AllowFor, "you allowed it from the block page")
		next = (&url.URL{Scheme: "https", Host: siteAuthority(wo.target), Path: "/"}).String()
	case "passthrough":
		err = p.cfg.Pages.Passthrough(wo.target.Host, wo.target.Port, "the site asks for a client certificate; you chose it from the block page")
		next = (&url.URL{Scheme: "https", Host: siteAuthority(wo.target), Path: "/"}).String()
	case "portal":
		err = p.cfg.Pages.Allow(wo.portal.Host, 0, AllowFor, "captive portal sign-in page, passed unchecked")
		next = wo.portal.SignInURL
	}
	if err != nil {
		p.log.Warn("failed to allow destination", "action", action, "err", err)
		http.Error(w, "Convergence could not allow it: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p.log.Warn("let through unchecked for a while", "action", action, "site", wo.target.String(), "portal", wo.portal.Host, "for", AllowFor.String())
	w.Header().Set("Connection", "close")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// siteAuthority is the host[:port] of t for a URL, the port left out when 443.
func siteAuthority(t verifier.Target) string {
	if t.Port == 443 || t.Port == 0 {
		if strings.Contains(t.Host, ":") {
			return "[" + t.Host + "]"
		}
		return t.Host
	}
	return t.String()
}

// responseBuffer is a minimal http.ResponseWriter kept in memory, written out as one
// HTTP/1.1 response with a Content-Length.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseBuffer() *responseBuffer { return &responseBuffer{header: http.Header{}} }

func (b *responseBuffer) Header() http.Header { return b.header }
func (b *responseBuffer) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *responseBuffer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *responseBuffer) write(w io.Writer, req *http.Request) error {
	b.WriteHeader(http.StatusOK)
	body := b.body.Bytes()
	if req.Method == http.MethodHead {
		body = nil
	}
	b.header.Set("Content-Length", strconv.Itoa(b.body.Len()))
	resp := &http.Response{StatusCode: b.status, ProtoMajor: 1, ProtoMinor: 1, Header: b.header,
		ContentLength: int64(b.body.Len()), Body: io.NopCloser(bytes.NewReader(body)), Close: b.header.Get("Connection") == "close", Request: req}
	return resp.Write(w)
}
