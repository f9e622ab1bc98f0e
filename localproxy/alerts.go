package localproxy

import (
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// A client that does not trust the local CA ends the handshake with a certificate
// alert. Over TLS 1.2 Go reports it as a "remote error"; over TLS 1.3 OpenSSL (curl)
// sends it before its own keys are in use, in cleartext, which Go's server reads with
// the client's handshake key and reports only as "bad record MAC". So the alert is
// read off the wire: alertSniffer watches the records the client sends during the
// handshake for a cleartext alert record (type 21, two bytes), and stops watching
// once the handshake is over.

// TLS alert descriptions that mean "I do not trust your certificate" (RFC 8446 6.2).
var certAlertNames = map[byte]string{
	42: "bad certificate",
	46: "certificate unknown",
	48: "unknown certificate authority",
}

// alertSniffer is the client's connection as the TLS server reads it.
type alertSniffer struct {
	net.Conn
	done  atomic.Bool // set after the handshake: reads pass through
	hdr   [5]byte     // the record header being read
	nhdr  int         // bytes of hdr read so far
	left  int         // bytes of the current record's body still to come
	isAl  bool        // the current record is a two-byte alert
	body  [2]byte
	nbody int
	seen  atomic.Uint32 // 0, or 0x100 | the alert description seen
}

func (s *alertSniffer) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if !s.done.Load() {
		s.scan(p[:n])
	}
	return n, err
}

// CloseWrite half-closes the client connection, as bufferedConn does.
func (s *alertSniffer) CloseWrite() error {
	if cw, ok := s.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// scan follows the record layer over b.
func (s *alertSniffer) scan(b []byte) {
	for len(b) > 0 {
		if s.left == 0 {
			k := copy(s.hdr[s.nhdr:], b)
			s.nhdr += k
			b = b[k:]
			if s.nhdr < 5 {
				return
			}
			s.nhdr = 0
			s.left = int(s.hdr[3])<<8 | int(s.hdr[4])
			s.isAl = s.hdr[0] == 21 && s.left == 2
			s.nbody = 0
			continue
		}
		k := min(len(b), s.left)
		if s.isAl {
			s.nbody += copy(s.body[s.nbody:], b[:k])
			if s.nbody == 2 {
				s.seen.Store(0x100 | uint32(s.body[1]))
			}
		}
		s.left -= k
		b = b[k:]
	}
}

// certAlert returns the name of the certificate alert the client sent during the
// handshake, or "" when it sent none.
func (s *alertSniffer) certAlert() string {
	if v := s.seen.Load(); v != 0 {
		return certAlertNames[byte(v)]
	}
	return ""
}

// certAlertOf returns the certificate alert a failed handshake ended with: the one
// Go reports as a remote error, or the one sn saw on the wire; "" for any other
// failure (timeouts and resets say nothing about trust).
func certAlertOf(err error, sn *alertSniffer) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		name := strings.TrimPrefix(op.Err.Error(), "tls: ")
		for _, a := range certAlertNames {
			if a == name {
				return a
			}
		}
		return ""
	}
	if sn != nil {
		return sn.certAlert()
	}
	return ""
}

// noteHandshakeFailure tells Pages.OnCheck of a client that refused a leaf the proxy
// minted: it came through, but does not trust the local CA.
func (p *Proxy) noteHandshakeFailure(host string, err error, sn *alertSniffer) {
	alert := certAlertOf(err, sn)
	if alert == "" {
		return
	}
	p.log.Info("a client refused the local CA's certificate: it does not trust Convergence's local authority", "host", host, "alert", alert)
	if p.cfg.Pages.OnCheck != nil {
		p.cfg.Pages.OnCheck(CheckVisit{Host: host, Alert: alert, Time: time.Now()})
	}
}
