package localproxy

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// dialViaProxy reaches addr through an HTTP proxy with CONNECT and returns the tunnel.
// Credentials in the proxy URL are sent as Basic authorization.
func dialViaProxy(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error),
	proxy *url.URL, addr string, maxHeader int) (net.Conn, error) {
	conn, err := dial(ctx, "tcp", proxyHostPort(proxy))
	if err != nil {
		return nil, fmt.Errorf("failed to dial upstream proxy %q: %w", proxy.Host, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{},
	}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pw))
		req.Header.Set("Proxy-Authorization", "Basic "+cred)
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("failed to send CONNECT %q to upstream proxy %q: %w", addr, proxy.Host, err)
	}
	// Read the reply byte by byte through a small buffer that holds nothing past the
	// header: the tunnel's first bytes must stay in conn.
	br := bufio.NewReaderSize(&io.LimitedReader{R: oneByteReader{conn}, N: int64(maxHeader)}, 16)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("failed to read CONNECT reply from upstream proxy %q: %w", proxy.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("failed to CONNECT %q through upstream proxy %q: %s", addr, proxy.Host, resp.Status)
	}
	if err := ctx.Err(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("failed to CONNECT %q through upstream proxy %q: %w", addr, proxy.Host, err)
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// oneByteReader reads at most one byte per call, so a bufio.Reader on top of it never
// reads past the end of an HTTP header.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func proxyHostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
