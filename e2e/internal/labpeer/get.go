package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// runGet fetches one URL through an HTTP proxy with Go's own HTTP client, trusting only
// the given CA, over HTTP/1.1 or HTTP/2, and prints "STATUS PROTO" then the body: the
// suite's third kind of browsing client, beside curl and Chromium.
func runGet(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	proxy := fs.String("proxy", "", "http://host:port of the proxy")
	caFile := fs.String("cacert", "", "PEM file of the only CA to trust")
	h2 := fs.Bool("h2", false, "offer HTTP/2 (otherwise HTTP/1.1 only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *proxy == "" || *caFile == "" {
		return errors.New("usage: labpeer get --proxy URL --cacert FILE [--h2] URL")
	}
	pu, err := url.Parse(*proxy)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no certificate in %q", *caFile)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: *h2}
	if !*h2 {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fs.Arg(0), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	fmt.Printf("%d %s\n%s", resp.StatusCode, resp.Proto, body)
	return nil
}
