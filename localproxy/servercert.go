package localproxy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
)

// Reading the certificate a site shows in a relayed handshake (verify without
// reading, passthrough.go). With TLS 1.2 the server's first flight (ServerHello,
// Certificate, ..., ServerHelloDone) travels in plaintext records, so the proxy can
// read the certificate the client receives and compare it with the one the notaries
// judged. With TLS 1.3 everything after ServerHello is encrypted: nothing is read,
// and the watch says so (tls13). A TLS 1.2 session resumed (no Certificate before
// ChangeCipherSpec) shows no certificate either: its first handshake did.

// TLS record and handshake types the watch reads.
const (
	recordChangeCipherSpec = 20
	recordAlert            = 21
	hsServerHello          = 2
	hsCertificate          = 11
	hsServerHelloDone      = 14
	extSupportedVersions   = 0x002b
	maxRecordLen           = 16384 + 2048 // RFC 8446 5.2: the largest record there may be
	maxHandshakeLen        = 256 << 10    // a certificate chain larger than this is refused
)

// errCertSwapped means the site showed the client another certificate than the
// one the proxy judged.
var errCertSwapped = errors.New("the site showed your app a different certificate than the one the notaries checked")

// serverCertWatch follows the server's handshake records until it knows which
// certificate the client receives, or that it cannot know.
type serverCertWatch struct {
	want    string // the fingerprint (SHA-256, hex) judged
	hs      []byte // handshake bytes not yet parsed
	version uint16 // from ServerHello: the negotiated version
	done    bool
	outcome string // "checked", "tls13" or "resumed", once done
}

// feed takes one whole record of the server's; an error means the connection must be
// cut before the record reaches the client.
func (w *serverCertWatch) feed(typ byte, body []byte) error {
	switch typ {
	case recordAlert:
		return nil
	case recordChangeCipherSpec:
		if w.version == 0 {
			return errors.New("ChangeCipherSpec before ServerHello")
		}
		w.done, w.outcome = true, "resumed" // no Certificate came: a resumed session
		return nil
	case recordTypeHandshake:
	default:
		return fmt.Errorf("record type %d before the site's certificate", typ)
	}
	w.hs = append(w.hs, body...)
	for !w.done && len(w.hs) >= 4 {
		n := int(w.hs[1])<<16 | int(w.hs[2])<<8 | int(w.hs[3])
		if n > maxHandshakeLen {
			return fmt.Errorf("handshake message of %d bytes", n)
		}
		if len(w.hs) < 4+n {
			return nil
		}
		msgType, msg := w.hs[0], w.hs[4:4+n]
		w.hs = w.hs[4+n:]
		if err := w.message(msgType, msg); err != nil {
			return err
		}
	}
	return nil
}

func (w *serverCertWatch) message(typ byte, msg []byte) error {
	switch {
	case typ == hsServerHello:
		v, err := serverHelloVersion(msg)
		if err != nil {
			return err
		}
		w.version = v
		if v >= 0x0304 {
			w.done, w.outcome = true, "tls13" // the rest is encrypted
		}
	case w.version == 0:
		return fmt.Errorf("handshake message %d before ServerHello", typ)
	case typ == hsCertificate:
		leaf, err := firstCertificate(msg)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(leaf)
		if got := hex.EncodeToString(sum[:]); got != w.want {
			return fmt.Errorf("%w (the notaries checked %s…, your app was shown %s…)", errCertSwapped, shortHex(w.want), shortHex(got))
		}
		w.done, w.outcome = true, "checked"
	case typ == hsServerHelloDone:
		return errors.New("the site showed no certificate")
	}
	return nil
}

// serverHelloVersion is the version a ServerHello chose: its supported_versions
// extension when there is one (TLS 1.3), else its legacy version.
func serverHelloVersion(m []byte) (uint16, error) {
	bad := errors.New("malformed ServerHello")
	if len(m) < 2+32+1 {
		return 0, bad
	}
	v := binary.BigEndian.Uint16(m)
	p := 2 + 32
	p += 1 + int(m[p]) // session id
	p += 2 + 1         // cipher suite, compression
	if p > len(m) {
		return 0, bad
	}
	if p+2 > len(m) {
		return v, nil // no extensions
	}
	ext := m[p+2:]
	if int(binary.BigEndian.Uint16(m[p:])) != len(ext) {
		return 0, bad
	}
	for len(ext) >= 4 {
		typ, n := binary.BigEndian.Uint16(ext), int(binary.BigEndian.Uint16(ext[2:]))
		if 4+n > len(ext) {
			return 0, bad
		}
		if typ == extSupportedVersions && n == 2 {
			v = binary.BigEndian.Uint16(ext[4:])
		}
		ext = ext[4+n:]
	}
	return v, nil
}

// firstCertificate is the leaf's DER from a TLS 1.2 Certificate message.
func firstCertificate(m []byte) ([]byte, error) {
	if len(m) < 3 {
		return nil, errors.New("malformed Certificate")
	}
	list := m[3:]
	if len(list) < 3 {
		return nil, errors.New("the site showed no certificate")
	}
	n := int(list[0])<<16 | int(list[1])<<8 | int(list[2])
	if n == 0 || 3+n > len(list) {
		return nil, errors.New("malformed Certificate")
	}
	return list[3 : 3+n], nil
}

func shortHex(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// certCheckConn is the site's side of a relayed connection: until the watch is done,
// Read hands on only whole records the watch let through.
type certCheckConn struct {
	net.Conn
	w       *serverCertWatch
	pending []byte
	hdr     [5]byte
}

func (c *certCheckConn) Read(b []byte) (int, error) {
	if len(c.pending) == 0 && !c.w.done {
		if err := c.nextRecord(); err != nil {
			return 0, err
		}
	}
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

func (c *certCheckConn) nextRecord() error {
	if _, err := io.ReadFull(c.Conn, c.hdr[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint16(c.hdr[3:]))
	if n > maxRecordLen {
		return fmt.Errorf("failed to read the site's handshake: a record of %d bytes", n)
	}
	rec := make([]byte, 5+n)
	copy(rec, c.hdr[:])
	if _, err := io.ReadFull(c.Conn, rec[5:]); err != nil {
		return err
	}
	if err := c.w.feed(c.hdr[0], rec[5:]); err != nil {
		return fmt.Errorf("failed to check the site's certificate in your app's connection: %w", err)
	}
	c.pending = rec
	return nil
}

// CloseWrite half-closes the site's side.
func (c *certCheckConn) CloseWrite() error { return closeWriteErr(c.Conn) }

func closeWriteErr(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
