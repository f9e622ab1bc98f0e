package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// runEcho is a cleartext TCP server, as a STARTTLS service (XMPP, PostgreSQL, LDAP)
// is before it starts TLS: it reads one line from each connection, records it, and
// answers "LABEL: got LINE". It serves on every --listen address until ctx ends.
func runEcho(ctx context.Context, args []string) error {
	var listen listFlag
	fs := flag.NewFlagSet("labpeer echo", flag.ContinueOnError)
	fs.Var(&listen, "listen", "`ADDR` to serve on (repeatable)")
	label := fs.String("label", "echo", "name given in answers and the record")
	recordPath := fs.String("record", "", "append one JSON line per line received to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(listen) == 0 {
		return errors.New("echo needs --listen")
	}
	rec, err := openRecorder(*recordPath)
	if err != nil {
		return err
	}
	defer rec.close()
	for _, a := range listen {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("failed to listen on %q: %w", a, err)
		}
		fmt.Printf("listening %s\n", ln.Addr())
		context.AfterFunc(ctx, func() { ln.Close() })
		go func() { // ends when ctx closes the listener
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go echoOne(c, *label, rec) // ends within its deadline
			}
		}()
	}
	<-ctx.Done()
	return ctx.Err()
}

func echoOne(c net.Conn, label string, rec *recorder) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	line = strings.TrimRight(line, "\r\n")
	data, _ := json.Marshal(Request{Label: label, Method: "line", Body: line})
	rec.mu.Lock()
	if rec.f != nil {
		_, _ = rec.f.Write(append(data, '\n'))
	}
	rec.mu.Unlock()
	fmt.Fprintf(c, "%s: got %s\n", label, line)
}

// runVia opens a CONNECT tunnel through an HTTP proxy to any --connect address and
// then either speaks cleartext (--send: one line out, the answer back) or TLS with the
// server name --sni (trusting only the --cacert files) and one GET. It prints what
// happened, one step per line: "connect STATUS", then "reply TEXT" or "closed ERR"
// (cleartext), or "tls-error ERR" or "http STATUS" and the body (TLS). The browsers
// cannot CONNECT to one host while naming another in TLS; this client can.
func runVia(ctx context.Context, args []string) error {
	var caFiles listFlag
	fs := flag.NewFlagSet("labpeer via", flag.ContinueOnError)
	proxy := fs.String("proxy", "", "host:port of the HTTP proxy")
	target := fs.String("connect", "", "host:port to CONNECT to")
	send := fs.String("send", "", "cleartext line to send through the tunnel")
	sni := fs.String("sni", "", "speak TLS with this server name (instead of --send)")
	fs.Var(&caFiles, "cacert", "PEM `FILE` of a CA to trust for TLS (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *proxy == "" || *target == "" || (*send == "") == (*sni == "") {
		return errors.New("usage: labpeer via --proxy ADDR --connect HOST:PORT (--send TEXT | --sni NAME --cacert FILE)")
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", *proxy)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", *target, *target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return fmt.Errorf("failed to read the CONNECT answer: %w", err)
	}
	fmt.Printf("connect %d\n", resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	tunnel := &bufConn{Conn: c, r: br}
	if *sni == "" {
		fmt.Fprintf(tunnel, "%s\n", *send)
		tunnel.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(io.LimitReader(tunnel, 4096))
		if len(b) == 0 {
			fmt.Printf("closed %v\n", err)
			return nil
		}
		fmt.Printf("reply %s\n", strings.TrimSpace(string(b)))
		return nil
	}
	pool := x509.NewCertPool()
	for _, f := range caFiles {
		pem, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		pool.AppendCertsFromPEM(pem)
	}
	tc := tls.Client(tunnel, &tls.Config{ServerName: *sni, RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err := tc.HandshakeContext(ctx); err != nil {
		fmt.Printf("tls-error %v\n", err)
		return nil
	}
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", *sni)
	hr, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		fmt.Printf("http-error %v\n", err)
		return nil
	}
	defer hr.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
	fmt.Printf("http %d\n%s", hr.StatusCode, body)
	return nil
}

// bufConn reads what the CONNECT answer's reader already holds before the socket.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
