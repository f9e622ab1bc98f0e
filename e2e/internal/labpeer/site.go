package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// runSite serves HTTPS on every --listen address until ctx ends. With several --cert
// pairs it hands them out in turn, one per handshake from each client address (a CDN
// whose edges differ);
// --vhost NAME=CERT,KEY answers SNI NAME with its own certificate.
func runSite(ctx context.Context, args []string) error {
	var listen, certs, vhosts listFlag
	fs := flag.NewFlagSet("labpeer site", flag.ContinueOnError)
	fs.Var(&listen, "listen", "`ADDR` to serve on (repeatable)")
	fs.Var(&certs, "cert", "`CERT,KEY` PEM files of a default certificate (repeatable: rotated per handshake)")
	fs.Var(&vhosts, "vhost", "`NAME=CERT,KEY` certificate for SNI NAME (repeatable)")
	label := fs.String("label", "site", "name shown in the page and the record")
	recordPath := fs.String("record", "", "append one JSON line per request to `FILE`")
	delay := fs.Duration("delay", 0, "wait this long before answering each TLS handshake (a distant server)")
	apart := fs.Bool("edges-apart", false, "close every connection after its answer and resume no session: each new connection meets the next edge, which shares nothing with the others")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(listen) == 0 || len(certs) == 0 {
		return fmt.Errorf("site needs --listen and --cert")
	}
	var defaults []tls.Certificate
	for _, c := range certs {
		kc, err := loadPair(c)
		if err != nil {
			return err
		}
		defaults = append(defaults, kc)
	}
	named := map[string]*tls.Certificate{}
	for _, v := range vhosts {
		name, pair, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("bad --vhost %q: want NAME=CERT,KEY", v)
		}
		kc, err := loadPair(pair)
		if err != nil {
			return err
		}
		named[strings.ToLower(name)] = &kc
	}
	// Each client address gets the default certificates in turn, on a counter of its own:
	// a load balancer that sends every new connection to the next edge. (With one
	// counter for everyone, a notary's probes could all land on the same edge because
	// other notaries' handshakes fell in between.)
	var mu sync.Mutex // protects turns
	turns := map[string]int{}
	cfg := &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if *delay > 0 {
			select {
			case <-time.After(*delay):
			case <-hello.Context().Done():
				return nil, hello.Context().Err()
			}
		}
		if c, ok := named[strings.ToLower(hello.ServerName)]; ok {
			return c, nil
		}
		ip, _, _ := net.SplitHostPort(hello.Conn.RemoteAddr().String())
		mu.Lock()
		n := turns[ip]
		turns[ip] = n + 1
		mu.Unlock()
		return &defaults[n%len(defaults)], nil
	}}
	rec, err := openRecorder(*recordPath)
	if err != nil {
		return err
	}
	defer rec.close()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := rec.record(*label, r)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<html><body><p id=\"site\">hello from %s (%s, %s)</p><p>received %d bytes</p></body></html>\n",
				*label, r.Host, r.Proto, len(body))
		}),
		TLSConfig: cfg,
		// As long as nginx waits for a request's headers: the proxy holds the site's
		// connection while the notaries are asked.
		ReadHeaderTimeout: 60 * time.Second,
	}
	if *apart {
		srv.SetKeepAlivesEnabled(false)
		cfg.SessionTicketsDisabled = true
	}
	return serveAll(ctx, srv, listen)
}

// serveAll listens on every address, prints "listening ADDR" for each on stdout, and
// serves until ctx ends.
func serveAll(ctx context.Context, srv *http.Server, addrs []string) error {
	errc := make(chan error, len(addrs))
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("failed to listen on %q: %w", a, err)
		}
		fmt.Printf("listening %s\n", ln.Addr())
		go func() { errc <- srv.ServeTLS(ln, "", "") }() // ends at Shutdown below
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return ctx.Err()
}

func loadPair(pair string) (tls.Certificate, error) {
	certFile, keyFile, ok := strings.Cut(pair, ",")
	if !ok {
		return tls.Certificate{}, fmt.Errorf("bad certificate pair %q: want CERT,KEY", pair)
	}
	kc, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("failed to load certificate %q: %w", certFile, err)
	}
	return kc, nil
}
