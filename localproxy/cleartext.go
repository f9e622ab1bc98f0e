package localproxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// A CONNECT tunnel whose stream is not TLS cannot be checked: there is no certificate
// to judge now, and a protocol that starts TLS later (STARTTLS in XMPP, SMTP, LDAP,
// PostgreSQL's SSLRequest) would do it inside the tunnel, with whoever answers. So such
// a stream is refused, unless the user allows cleartext to that host:port
// (Config.CleartextAllowed); either way the proxy reports a verdict whose Source is
// verifier.SourceCleartext, so every unchecked tunnel shows in Activity. See issue 12,
// door 3.

// serverFirstWait is how long an allowed cleartext destination's client may stay
// silent before the proxy opens the tunnel anyway: in SMTP, IMAP or FTP the server
// speaks first, and the client waits for it.
var serverFirstWait = time.Second // a variable only so tests can shorten it

// refusedReason says why a cleartext stream was refused, and how to allow it.
func refusedReason(t verifier.Target) string {
	return fmt.Sprintf("not TLS: a cleartext stream (or one that starts TLS later, STARTTLS) cannot be checked, so it was refused; "+
		"to let it through unchecked, allow %s in Settings or run: convergence cleartext allow %s", t, t)
}

// allowedReason words the verdict on a cleartext tunnel the user allowed.
const allowedReason = "not TLS, let through unchecked: you allow cleartext to this host and port"

// cleartextAllowed reports whether the user allows a cleartext tunnel to t.
func (p *Proxy) cleartextAllowed(t verifier.Target) bool {
	return p.cfg.CleartextAllowed != nil && p.cfg.CleartextAllowed(t.Host, t.Port)
}

// firstByte waits for the client's first byte after the CONNECT answer. For a
// destination where cleartext is allowed it waits serverFirstWait only: silent is
// false then, and err nil, when the client waits for the server to speak first.
func (p *Proxy) firstByte(client *bufferedConn, allowed bool) (b byte, silent bool, err error) {
	if allowed {
		client.SetReadDeadline(time.Now().Add(serverFirstWait))
	}
	first, err := client.r.Peek(1)
	if allowed && errors.Is(err, os.ErrDeadlineExceeded) {
		client.SetDeadline(time.Now().Add(p.limits.HeaderTimeout))
		return 0, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	return first[0], false, nil
}

// serveCleartext opens an allowed cleartext tunnel, or refuses the stream; it reports
// a verdict either way. The site's connection is early's.
func (p *Proxy) serveCleartext(ctx context.Context, client *bufferedConn, target verifier.Target, allowed bool, early *predial) {
	if !allowed {
		v := verifier.Verdict{Target: target, Outcome: verifier.OutcomeRejected, Source: verifier.SourceCleartext,
			Code: verifier.ReasonRefusedTunnel, Reason: refusedReason(target), Time: time.Now()}
		p.reportVerdict(v)
		p.refuseCleartext(client, v.Reason)
		return
	}
	upstream, err := early.take(ctx)
	if err != nil {
		p.log.Info("failed to reach site", "target", target.String(), "err", err)
		return
	}
	target.Addr = p.dialledAddr(upstream, target.Host)
	p.reportVerdict(verifier.Verdict{Target: target, Outcome: verifier.OutcomeTrusted, Source: verifier.SourceCleartext,
		Reason: allowedReason, Time: time.Now()})
	client.SetDeadline(time.Time{})
	p.tunnel(client, upstream)
}

// refuseCleartext answers the client in its own protocol where the proxy can tell it
// and the protocol has a way to say no (HTTP, PostgreSQL), then closes the tunnel.
func (p *Proxy) refuseCleartext(client *bufferedConn, reason string) {
	head, _ := client.r.Peek(client.r.Buffered())
	msg := "convergence: " + reason
	switch {
	case looksLikeHTTP(head):
		body := msg + "\n"
		fmt.Fprintf(client, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"+
			"X-Convergence-Verdict: rejected\r\nX-Convergence-Reason: refused-tunnel\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	case looksLikePostgres(head):
		client.Write(postgresError(msg))
	}
	// Read what the client still sends, for a moment, before closing: closing with
	// unread data makes the kernel send a reset, which can destroy the answer. (No
	// half-close: the listener's connections do not offer one.)
	client.SetReadDeadline(time.Now().Add(refuseDrain))
	io.Copy(io.Discard, io.LimitReader(client, 64<<10))
}

// refuseDrain is how long a refused stream is read, and dropped, before it is closed.
const refuseDrain = 250 * time.Millisecond

// looksLikeHTTP reports whether head starts like an HTTP/1 request line.
func looksLikeHTTP(head []byte) bool {
	for _, m := range []string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "} {
		if bytes.HasPrefix(head, []byte(m)) {
			return true
		}
	}
	return false
}

// PostgreSQL's first message is a length (int32) and a code: SSLRequest 80877103,
// GSSENCRequest 80877104, or a StartupMessage's protocol version 3.0 (196608).
func looksLikePostgres(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	n, code := binary.BigEndian.Uint32(head), binary.BigEndian.Uint32(head[4:])
	return n >= 8 && n < 10000 && (code == 80877103 || code == 80877104 || code == 196608)
}

// postgresError is a PostgreSQL ErrorResponse, which a client accepts in answer to
// an SSLRequest or a StartupMessage and shows to its user.
func postgresError(msg string) []byte {
	var fields bytes.Buffer
	for _, f := range []struct {
		code byte
		text string
	}{{'S', "FATAL"}, {'V', "FATAL"}, {'C', "08004"}, {'M', strings.ReplaceAll(msg, "\x00", "")}} {
		fields.WriteByte(f.code)
		fields.WriteString(f.text)
		fields.WriteByte(0)
	}
	fields.WriteByte(0)
	out := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(4+fields.Len()))
	return append(out, fields.Bytes()...)
}
