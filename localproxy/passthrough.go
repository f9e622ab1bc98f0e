package localproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// Verify without reading (issue 17 item 4): for a host:port the user chose
// (Config.Passthrough), typically a site that asks for a client certificate or an
// app that pins its own, the proxy does not intercept. It reads the client's
// ClientHello, makes a TLS handshake of its own with the site (offering no client
// certificate), has the Checker judge the chain it got, exactly as an interception's
// (consensus, cache, pins), and only when it is trusted relays the client's own TLS
// bytes, untouched, over a new connection to the site. A rejection, or no verdict,
// closes the client's connection: no page can be shown inside TLS the proxy does not
// terminate; the verdict is reported as every other.
//
// The cost: with TLS 1.2 the certificate the client receives travels in plaintext,
// and the relay checks it is the one judged, cutting the connection before the
// client can answer when it is not (servercert.go). With TLS 1.3 it is encrypted:
// the proxy checks the certificate it saw itself, not the one the app receives, so a
// site (or an attacker) that tells the two connections apart could show them
// different certificates. A relayed connection is rechecked each second like a
// pooled one, and closed when its verdict or the user's decision is withdrawn.

// errClientCertAsked means the site asked for a client certificate in an
// interception, which cannot give one: the block page offers verify without reading.
var errClientCertAsked = errors.New("the site asks for a client certificate")

// errHelloRead ends the handshake that only reads the ClientHello.
var errHelloRead = errors.New("ClientHello read")

// servePassthrough serves a CONNECT to a host:port under verify without reading, after
// the 200: the client's connection is relayed only once the probe's certificate is
// trusted.
func (p *Proxy) servePassthrough(ctx context.Context, client *bufferedConn, target verifier.Target) {
	client.SetDeadline(time.Now().Add(p.limits.HandshakeTimeout))
	hello, raw, err := readClientHello(client)
	if err != nil {
		p.log.Info("verify without reading: no TLS ClientHello; closed", "target", target.String(), "err", err)
		return
	}
	sni := target.Host
	if hello.ServerName != "" {
		if sni, err = normalizeServerName(hello.ServerName); err != nil || sni != target.Host {
			// The decision covers the name it was made for, and no other.
			p.log.Warn("verify without reading: the app names another site in TLS; closed", "target", target.String(), "sni", hello.ServerName)
			return
		}
	}
	hctx, cancel := context.WithTimeout(ctx, p.limits.HandshakeTimeout)
	defer cancel()
	v, chain, err := p.probe(hctx, target, hello.ServerName, hello.SupportedProtos)
	if err != nil || !v.Allowed() {
		if err != nil {
			v = verifier.Verdict{Target: target, FingerprintSHA256: v.FingerprintSHA256, Outcome: verifier.OutcomeRejected, Time: time.Now(),
				Source: verifier.SourceProxy, Code: verifier.ReasonCheckFailed, Reason: err.Error()}
			if v.FingerprintSHA256 == "" {
				v.Code = verifier.ReasonSiteUnreachable
			}
			p.reportVerdict(v)
		}
		p.log.Warn("verify without reading: blocked; the connection is closed", "target", target.String(), "reason", v.Reason)
		return
	}
	up, err := p.dialSite(hctx, target.String())
	if err != nil {
		p.log.Info("failed to reach site", "target", target.String(), "err", err)
		return
	}
	if _, err := up.Write(raw); err != nil {
		up.Close()
		return
	}
	client.SetDeadline(time.Time{})
	watched := &certCheckConn{Conn: up, w: &serverCertWatch{want: v.FingerprintSHA256}}
	pt := &passTunnel{target: v.Target, chain: chain, close: func() { client.Close(); up.Close() }}
	p.passTunnels.add(pt)
	defer p.passTunnels.remove(pt)
	p.log.Debug("verify without reading: relaying", "target", target.String(), "sni", sni)
	p.tunnel(client, watched)
	if watched.w.outcome == "tls13" {
		p.log.Debug("verify without reading: TLS 1.3, the app's certificate could not be read", "target", target.String())
	}
}

// probe makes the proxy's own handshake with the site and has the Checker judge the
// chain. A site that insists on a client certificate ends the handshake once it has
// shown its own: the chain is judged all the same.
func (p *Proxy) probe(ctx context.Context, target verifier.Target, sni string, alpn []string) (verifier.Verdict, []*x509.Certificate, error) {
	addr := target.String()
	raw, err := p.dialSite(ctx, addr)
	if err != nil {
		return verifier.Verdict{}, nil, fmt.Errorf("failed to reach %q: %w", addr, err)
	}
	defer raw.Close()
	var chain []*x509.Certificate
	cfg := &tls.Config{
		ServerName:         sni,
		NextProtos:         alpn,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // the Checker decides
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			for _, der := range rawCerts {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				chain = append(chain, c)
			}
			return nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{}, nil // none: only the app has it
		},
	}
	if cfg.ServerName == "" && net.ParseIP(target.Host) == nil {
		cfg.ServerName = target.Host
	}
	herr := tls.Client(raw, cfg).HandshakeContext(ctx)
	if len(chain) == 0 {
		return verifier.Verdict{}, nil, fmt.Errorf("failed TLS handshake with %q: %w", addr, herr)
	}
	fp := verifier.FingerprintSHA256(chain[0])
	t := target
	t.Addr = p.dialledAddr(raw, target.Host)
	v, err := p.cfg.Checker.Verify(ctx, t, chain)
	if err != nil {
		return verifier.Verdict{FingerprintSHA256: fp}, nil, fmt.Errorf("failed to verify certificate: %w", err)
	}
	p.reportVerdict(v)
	return v, chain, nil
}

// readClientHello reads the client's ClientHello (Go's own parser, on a connection
// that records what it reads and sends nothing) and returns it with the bytes read.
func readClientHello(c net.Conn) (*tls.ClientHelloInfo, []byte, error) {
	rec := &recordingConn{Conn: c}
	var hello *tls.ClientHelloInfo
	err := tls.Server(rec, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		hello = h
		return nil, errHelloRead
	}}).Handshake()
	if hello == nil {
		return nil, nil, fmt.Errorf("failed to read ClientHello: %w", err)
	}
	return hello, rec.buf.Bytes(), nil
}

// recordingConn keeps every byte read, discards writes (the alert of the reading
// handshake) and is not closed by it.
type recordingConn struct {
	net.Conn
	buf bytes.Buffer
}

func (r *recordingConn) Read(b []byte) (int, error) {
	if r.buf.Len() > 64<<10 {
		return 0, io.ErrShortBuffer // a ClientHello is far smaller
	}
	n, err := r.Conn.Read(b)
	r.buf.Write(b[:n])
	return n, err
}
func (r *recordingConn) Write(b []byte) (int, error) { return len(b), nil }
func (r *recordingConn) Close() error                { return nil }

// passTunnel is one relayed connection, rechecked by the sweeps.
type passTunnel struct {
	target verifier.Target
	chain  []*x509.Certificate
	close  func()
}

// passTunnels holds the relayed connections. Safe for concurrent use.
type passTunnels struct {
	mu sync.Mutex // protects m
	m  map[*passTunnel]struct{}
}

func (s *passTunnels) add(t *passTunnel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[*passTunnel]struct{}{}
	}
	s.m[t] = struct{}{}
}

func (s *passTunnels) remove(t *passTunnel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, t)
}

// sweep closes every relayed connection whose decision was removed or whose
// certificate is no longer trusted (Recheck: memory only). Without a Rechecker the
// certificate's verdict cannot be asked from memory: only the decision is checked.
func (p *Proxy) sweepPassTunnels(ctx context.Context) {
	p.passTunnels.mu.Lock()
	all := make([]*passTunnel, 0, len(p.passTunnels.m))
	for t := range p.passTunnels.m {
		all = append(all, t)
	}
	p.passTunnels.mu.Unlock()
	rc := p.pool.rechecker
	for _, t := range all {
		if !p.passthrough(t.target) || (rc != nil && !rc.Recheck(ctx, t.target, t.chain)) {
			p.log.Warn("verify without reading: the verdict or the decision was withdrawn; the connection is closed", "target", t.target.String())
			t.close()
		}
	}
}

// passthrough reports whether the user chose verify without reading for t's host:port.
func (p *Proxy) passthrough(t verifier.Target) bool {
	return p.cfg.Passthrough != nil && p.cfg.Passthrough(t.Host, t.Port)
}
