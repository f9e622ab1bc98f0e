package protocol

import (
	"bytes"
	"strconv"
)

// decodeV2RequestFast decodes the body clients send, exactly V2Request.Marshal's form
// ({"host":"...","port":N,"sha256":"...","nonce":"..."}, sha256 optional, printable
// ASCII strings without escapes, nothing after), without encoding/json; ok is false
// for anything else, which decodeV2Request then reads. For the bodies it accepts both
// give the same request (FuzzParseV2Request holds them together).
func decodeV2RequestFast(b []byte) (r V2Request, ok bool) {
	if b, ok = cutLit(b, `{"host":`); !ok {
		return V2Request{}, false
	}
	if r.Host, b, ok = cutString(b); !ok {
		return V2Request{}, false
	}
	if b, ok = cutLit(b, `,"port":`); !ok {
		return V2Request{}, false
	}
	if r.Port, b, ok = cutPort(b); !ok {
		return V2Request{}, false
	}
	if rest, has := cutLit(b, `,"sha256":`); has {
		if r.SHA256, b, ok = cutString(rest); !ok {
			return V2Request{}, false
		}
	}
	if b, ok = cutLit(b, `,"nonce":`); !ok {
		return V2Request{}, false
	}
	if r.Nonce, b, ok = cutString(b); !ok {
		return V2Request{}, false
	}
	if string(b) != "}" {
		return V2Request{}, false
	}
	return r, true
}

func cutLit(b []byte, lit string) ([]byte, bool) {
	return bytes.CutPrefix(b, []byte(lit))
}

// cutString reads a JSON string of printable ASCII without escapes.
func cutString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return string(b[1:i]), b[i+1:], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", nil, false
		}
	}
	return "", nil, false
}

// cutPort reads a JSON integer of 1-5 digits without a leading zero.
func cutPort(b []byte) (int, []byte, bool) {
	n := 0
	for n < len(b) && n < 6 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 5 || (b[0] == '0' && n > 1) {
		return 0, nil, false
	}
	p, err := strconv.Atoi(string(b[:n]))
	return p, b[n:], err == nil
}
