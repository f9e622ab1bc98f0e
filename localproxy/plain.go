package localproxy

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// newPlainForwarder builds the forwarder for absolute-form http:// requests. It speaks
// to sites directly, or to the upstream proxy in absolute form. ReverseProxy removes
// hop-by-hop headers; no X-Forwarded-For is added, so sites do not learn the proxy.
func (p *Proxy) newPlainForwarder() (*http.Transport, *httputil.ReverseProxy) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.dial(ctx, network, addr)
		},
		MaxIdleConns: 100,
		// An idle pooled connection to a site is only a saving: closing it costs a
		// reconnect, never a client's stream.
		IdleConnTimeout: 90 * time.Second,
		// A response that is slow to start is a quiet stream (a long-poll): it waits
		// as long as any other (it was 30 s, and slower answers became 502).
		ResponseHeaderTimeout:  p.limits.IdleTimeout,
		MaxResponseHeaderBytes: int64(p.limits.MaxHeaderBytes),
		ForceAttemptHTTP2:      false,
	}
	if u := p.cfg.UpstreamProxy; u != nil {
		tr.Proxy = http.ProxyURL(u)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = pr.In.URL
			pr.Out.Host = pr.In.Host
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.log.Info("failed to forward request", "host", r.Host, "err", err)
			http.Error(w, "failed to reach "+r.Host, http.StatusBadGateway)
		},
	}
	return tr, rp
}

// servePlain forwards one absolute-form http:// request.
func (p *Proxy) servePlain(w http.ResponseWriter, r *http.Request) {
	if r.URL.Scheme != "http" {
		http.Error(w, "only http:// requests are forwarded; use CONNECT for https", http.StatusBadRequest)
		return
	}
	r.Header.Del("Proxy-Authorization")
	r.Header.Del("Proxy-Connection")
	if h, err := protocol.NormalizeHost(r.URL.Hostname()); err == nil && isCheckHost(h) {
		p.serveCheckPlain(w, r) // answered here, never dialled
		return
	}
	p.plain.ServeHTTP(w, r)
}

// serveLocal answers requests addressed to the proxy itself: the PAC file, the CA
// certificate and a small status page.
func (p *Proxy) serveLocal(w http.ResponseWriter, r *http.Request, self string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/proxy.pac":
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprint(w, PAC(self))
	case "/ca.pem":
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Disposition", `attachment; filename="convergence-ca.pem"`)
		w.Write(p.ca.Load().CertPEM())
	case "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		statusTmpl.Execute(w, map[string]any{
			"Self":   self,
			"Paused": p.paused(),
			"CA":     p.ca.Load().Certificate().Subject.CommonName,
		})
	default:
		http.NotFound(w, r)
	}
}

// PAC returns a proxy auto-config script that sends everything to the proxy at addr
// but loopback: IPv4 loopback literals (127.x.y.z), ::1, and the names localhost and
// *.localhost, which the proxy would only tunnel unchecked anyway. Only address
// literals are matched: a name such as 127.shop.test is a site like any other, and
// goes to the proxy (issue 12, door 5: "127.*" matched it). There is no DIRECT
// fallback: when the proxy is down, connections fail rather than go out unverified.
// The script uses plain JavaScript only, no PAC helper functions.
func PAC(addr string) string {
	return fmt.Sprintf(`function FindProxyForURL(url, host) {
  var h = String(host).toLowerCase();
  if (h === "localhost" || /\.localhost$/.test(h) || h === "::1" || h === "[::1]" ||
      /^127\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){2}$/.test(h)) {
    return "DIRECT";
  }
  return "PROXY %s";
}
`, addr)
}

var statusTmpl = template.Must(template.New("status").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Convergence local proxy</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>Convergence local proxy</h1>
<p>Listening on {{.Self}}.{{if .Paused}} <strong>Paused:</strong> connections pass through unchecked.{{end}}</p>
<ul>
<li><a href="/ca.pem">Download the local CA certificate</a> ({{.CA}}) to trust it in a browser or program.</li>
<li><a href="/proxy.pac">Proxy auto-config file</a>: http://{{.Self}}/proxy.pac</li>
</ul>
</body></html>
`))
