package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"
)

// V1SignedBytes returns the received v1 body with its top-level "signature" member cut
// out textually: every other byte is kept as received. For the original's layout
// {"fingerprintList": [...], "signature": "..."} the cut removes `, "signature": "..."`;
// for a body that starts with the signature member it removes the member and the comma
// and spaces after it.
func V1SignedBytes(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("failed to cut v1 signature: body is not a JSON object: %w", ErrMalformed)
	}
	var cut []byte
	first := true
	for dec.More() {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("failed to cut v1 signature: %w: %w", ErrMalformed, err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("failed to cut v1 signature: %w: %w", ErrMalformed, err)
		}
		end := int(dec.InputOffset())
		if tok == "signature" {
			if cut != nil {
				return nil, fmt.Errorf("failed to cut v1 signature: two signature members: %w", ErrMalformed)
			}
			if first {
				end = skipSpace(body, end)
				if end < len(body) && body[end] == ',' {
					end = skipSpace(body, end+1)
				}
			}
			cut = slices.Concat(body[:start], body[end:])
		}
		first = false
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("failed to cut v1 signature: %w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("failed to cut v1 signature: data after the object: %w", ErrMalformed)
	}
	if cut == nil {
		return nil, fmt.Errorf("failed to cut v1 signature: no signature member: %w", ErrMalformed)
	}
	return cut, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// maxDepth bounds the nesting of JSON accepted by Canonicalize.
const maxDepth = 16

var intLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,15})$`)

// Canonicalize returns the canonical form of a JSON object, with the top-level members
// named in drop left out. The form is RFC 8785 (JCS) restricted to integers: no
// insignificant whitespace; object members sorted by key bytes; strings as UTF-8 with
// only '"', '\\' and control characters escaped (\b \t \n \f \r, others as \u00xx
// lowercase); integers as their shortest decimal form (|n| < 2^53, no fractions or
// exponents: they are rejected); true, false, null. Duplicate keys and invalid UTF-8
// are rejected.
func Canonicalize(body []byte, drop ...string) ([]byte, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("failed to canonicalize JSON: invalid UTF-8: %w", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	if err := canonValue(dec, &out, 0, drop); err != nil {
		return nil, fmt.Errorf("failed to canonicalize JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("failed to canonicalize JSON: data after the value: %w", ErrMalformed)
	}
	if out.Len() == 0 || out.Bytes()[0] != '{' {
		return nil, fmt.Errorf("failed to canonicalize JSON: not an object: %w", ErrMalformed)
	}
	return out.Bytes(), nil
}

func canonValue(dec *json.Decoder, out *bytes.Buffer, depth int, drop []string) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d: %w", maxDepth, ErrMalformed)
	}
	tok, err := dec.Token()
	if err != nil {
		return errors.Join(ErrMalformed, err)
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := canonValue(dec, out, depth+1, nil); err != nil {
					return err
				}
			}
			_, err := dec.Token()
			out.WriteByte(']')
			return err
		}
		return canonObject(dec, out, depth, drop)
	case string:
		writeCanonString(out, v)
	case json.Number:
		if !intLiteral.MatchString(v.String()) {
			return fmt.Errorf("number %q is not a canonical integer: %w", v.String(), ErrMalformed)
		}
		n, _ := strconv.ParseInt(v.String(), 10, 64)
		if n >= 1<<53 || n <= -(1<<53) || v.String() == "-0" {
			return fmt.Errorf("integer %q out of range: %w", v.String(), ErrMalformed)
		}
		out.WriteString(v.String())
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case nil:
		out.WriteString("null")
	}
	return nil
}

func canonObject(dec *json.Decoder, out *bytes.Buffer, depth int, drop []string) error {
	type member struct {
		key string
		val []byte
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.Join(ErrMalformed, err)
		}
		key, _ := tok.(string)
		var val bytes.Buffer
		if err := canonValue(dec, &val, depth+1, nil); err != nil {
			return err
		}
		if slices.ContainsFunc(members, func(m member) bool { return m.key == key }) {
			return fmt.Errorf("duplicate key %q: %w", key, ErrMalformed)
		}
		members = append(members, member{key, val.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return errors.Join(ErrMalformed, err)
	}
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare([]byte(a.key), []byte(b.key)) })
	out.WriteByte('{')
	n := 0
	for _, m := range members {
		if slices.Contains(drop, m.key) {
			continue
		}
		if n > 0 {
			out.WriteByte(',')
		}
		n++
		writeCanonString(out, m.key)
		out.WriteByte(':')
		out.Write(m.val)
	}
	out.WriteByte('}')
	return nil
}

func writeCanonString(out *bytes.Buffer, s string) {
	const hexdig = "0123456789abcdef"
	out.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\t':
			out.WriteString(`\t`)
		case '\n':
			out.WriteString(`\n`)
		case '\f':
			out.WriteString(`\f`)
		case '\r':
			out.WriteString(`\r`)
		default:
			if c < 0x20 {
				out.WriteString(`\u00`)
				out.WriteByte(hexdig[c>>4])
				out.WriteByte(hexdig[c&0xf])
			} else {
				out.WriteByte(c)
			}
		}
	}
	out.WriteByte('"')
}
