package protocol

import (
	"crypto"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// V2Prepared is a v2 answer rendered in canonical form once, but for its two
// per-request members, the nonce and the time: a notary keeps one per target and
// answer, and each request costs the splice and the signature. Safe for concurrent use
// (read-only).
type V2Prepared struct {
	head []byte // canonical bytes up to and including `"nonce":`
	mid  []byte // from `,"observations":` up to and including `"time":`
	tail []byte // `,"version":2}`
	alg  string
}

// PrepareV2 renders a for signing with key (ECDSA P-256 or Ed25519); a.Nonce and
// a.Time are ignored (Sign supplies them) and a.Version is 2. The canonical bytes are
// those Canonicalize gives for json.Marshal of the answer (the tests hold the two
// together), written directly.
func PrepareV2(a V2Answer, key crypto.PublicKey) (*V2Prepared, error) {
	alg, err := AlgorithmV2(key)
	if err != nil {
		return nil, err
	}
	p := &V2Prepared{alg: alg}
	b := []byte(`{"checks":[`)
	for i, c := range a.Checks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"deciding":`...)
		b = strconv.AppendBool(b, c.Deciding)
		if c.Detail != "" {
			b = append(b, `,"detail":`...)
			b = appendCanonString(b, c.Detail)
		}
		b = append(b, `,"name":`...)
		b = appendCanonString(b, c.Name)
		b = append(b, `,"verdict":`...)
		b = appendCanonString(b, string(c.Verdict))
		b = append(b, '}')
	}
	b = append(b, `],"freshness_window":`...)
	if b, err = appendCanonInt(b, a.Window); err != nil {
		return nil, err
	}
	p.head = append(b, `,"nonce":`...)
	b = []byte(`,"observations":[`)
	for i, o := range a.Observations {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"first_seen":`...)
		if b, err = appendCanonInt(b, o.FirstSeen); err != nil {
			return nil, err
		}
		b = append(b, `,"last_seen":`...)
		if b, err = appendCanonInt(b, o.LastSeen); err != nil {
			return nil, err
		}
		b = append(b, `,"sha256":`...)
		b = appendCanonString(b, o.SHA256)
		b = append(b, '}')
	}
	b = append(b, `],"sha256":`...)
	b = appendCanonString(b, a.SHA256)
	b = append(b, `,"status":`...)
	b = appendCanonString(b, string(a.Status))
	b = append(b, `,"target":{"host":`...)
	b = appendCanonString(b, a.Target.Host)
	b = append(b, `,"port":`...)
	if b, err = appendCanonInt(b, int64(a.Target.Port)); err != nil {
		return nil, err
	}
	p.mid = append(b, `},"time":`...)
	p.tail = []byte(`,"version":2}`)
	return p, nil
}

// Alg is the signature algorithm the answer is prepared for.
func (p *V2Prepared) Alg() string { return p.alg }

// Canonical returns the signed bytes of the answer with this nonce and time.
func (p *V2Prepared) Canonical(nonce string, t int64) ([]byte, error) {
	b := make([]byte, 0, len(p.head)+len(nonce)+len(p.mid)+len(p.tail)+24+signatureRoom)
	b = append(b, p.head...)
	b = appendCanonString(b, nonce)
	b = append(b, p.mid...)
	b, err := appendCanonInt(b, t)
	if err != nil {
		return nil, err
	}
	return append(b, p.tail...), nil
}

// signatureRoom is what the signature member adds (Ed25519 and ECDSA P-256 in base64).
const signatureRoom = 160

// Sign returns the body of the answer with this nonce and time, signed with key (the
// key the answer was prepared for): the canonical bytes with
// `,"signature":{"alg":...,"value":...}` inserted before the final '}', as SignV2 does.
func (p *V2Prepared) Sign(nonce string, t int64, key crypto.Signer) ([]byte, error) {
	canon, err := p.Canonical(nonce, t)
	if err != nil {
		return nil, err
	}
	sig, err := sign(key, p.alg, canon)
	if err != nil {
		return nil, err
	}
	body := canon[:len(canon)-1]
	body = append(body, `,"signature":{"alg":`...)
	body = appendCanonString(body, p.alg)
	body = append(body, `,"value":"`...)
	body = base64.StdEncoding.AppendEncode(body, sig)
	return append(body, `"}}`...), nil
}

// appendCanonInt writes n as Canonicalize accepts integers (|n| < 2^53).
func appendCanonInt(b []byte, n int64) ([]byte, error) {
	if n >= 1<<53 || n <= -(1<<53) {
		return nil, fmt.Errorf("failed to render v2 answer: integer %d out of range: %w", n, ErrMalformed)
	}
	return strconv.AppendInt(b, n, 10), nil
}

// appendCanonString writes s as Canonicalize does after json.Marshal: each invalid
// UTF-8 byte becomes U+FFFD (as json.Marshal makes it), then the canonical escapes.
func appendCanonString(b []byte, s string) []byte {
	const hexdig = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\b':
			b = append(b, `\b`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\f':
			b = append(b, `\f`...)
		case '\r':
			b = append(b, `\r`...)
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&0xf])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}
