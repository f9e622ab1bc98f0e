package protocol

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// V1Entry is one record of a v1 answer: a certificate fingerprint and the span of time
// (unix seconds) over which the notary saw it.
type V1Entry struct {
	Fingerprint string // SHA-1, uppercase colon hex
	Start       int64  // first seen, unix seconds
	Finish      int64  // last seen, unix seconds
}

// V1Answer is a parsed v1 answer body.
type V1Answer struct {
	Fingerprints []V1Entry // in the order received (newest finish first from a conforming notary)
	Signature    []byte    // decoded from base64
}

// Has reports whether fp (any case) is among the answer's fingerprints.
func (a V1Answer) Has(fp string) bool {
	n, err := NormalizeSHA1Fingerprint(fp)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(a.Fingerprints, func(e V1Entry) bool { return e.Fingerprint == n })
}

// SortV1Entries orders entries as v1 answers list them: newest Finish first, then newest
// Start, then by fingerprint.
func SortV1Entries(entries []V1Entry) {
	slices.SortStableFunc(entries, func(a, b V1Entry) int {
		switch {
		case a.Finish != b.Finish:
			return cmpDesc(a.Finish, b.Finish)
		case a.Start != b.Start:
			return cmpDesc(a.Start, b.Start)
		}
		return bytes.Compare([]byte(a.Fingerprint), []byte(b.Fingerprint))
	})
}

func cmpDesc(a, b int64) int {
	if a > b {
		return -1
	}
	return 1
}

// MarshalV1Unsigned returns the bytes a v1 signature covers: the answer without its
// signature member, serialised exactly as the original notary's Python json.dumps did:
//
//	{"fingerprintList": [{"timestamp": {"start": "S", "finish": "F"}, "fingerprint": "FP"}]}
//
// with ", " and ": " separators, in the order given (callers sort with SortV1Entries).
func MarshalV1Unsigned(entries []V1Entry) ([]byte, error) {
	if len(entries) > MaxEntries {
		return nil, fmt.Errorf("failed to marshal v1 answer: %d entries: %w", len(entries), ErrTooLarge)
	}
	var b bytes.Buffer
	b.WriteString(`{"fingerprintList": [`)
	for i, e := range entries {
		fp, err := NormalizeSHA1Fingerprint(e.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("failed to marshal v1 answer: %w", err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"timestamp": {"start": "%d", "finish": "%d"}, "fingerprint": "%s"}`, e.Start, e.Finish, fp)
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// SignV1 builds a signed v1 answer body from entries (sorted newest first by SortV1Entries
// on a copy) and the notary's key: the unsigned text followed by a "signature" member,
//
//	{"fingerprintList": [...], "signature": "<base64>"}
func SignV1(entries []V1Entry, key crypto.Signer) ([]byte, error) {
	alg, err := AlgorithmV1(key.Public())
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(entries)
	SortV1Entries(sorted)
	unsigned, err := MarshalV1Unsigned(sorted)
	if err != nil {
		return nil, err
	}
	sig, err := sign(key, alg, unsigned)
	if err != nil {
		return nil, err
	}
	body := append([]byte(nil), unsigned[:len(unsigned)-1]...)
	body = append(body, `, "signature": "`...)
	body = append(body, base64.StdEncoding.EncodeToString(sig)...)
	return append(body, `"}`...), nil
}

// v1Wire is the JSON shape of a v1 answer. Timestamps are strings in the original; numbers
// are accepted too.
type v1Wire struct {
	FingerprintList []struct {
		Timestamp struct {
			Start  flexInt `json:"start"`
			Finish flexInt `json:"finish"`
		} `json:"timestamp"`
		Fingerprint string `json:"fingerprint"`
	} `json:"fingerprintList"`
	Signature *string `json:"signature"`
}

type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("failed to parse timestamp %q: %w", string(b), ErrMalformed)
	}
	*f = flexInt(n)
	return nil
}

// ParseV1 parses a v1 answer body without checking its signature. Bodies over
// MaxV1AnswerSize or with more than MaxEntries records are rejected.
func ParseV1(body []byte) (V1Answer, error) {
	if len(body) > MaxV1AnswerSize {
		return V1Answer{}, fmt.Errorf("failed to parse v1 answer: %d bytes: %w", len(body), ErrTooLarge)
	}
	var w v1Wire
	if err := json.Unmarshal(body, &w); err != nil {
		return V1Answer{}, fmt.Errorf("failed to parse v1 answer: %w: %w", ErrMalformed, err)
	}
	if w.FingerprintList == nil {
		return V1Answer{}, fmt.Errorf("failed to parse v1 answer: no fingerprintList: %w", ErrMalformed)
	}
	if len(w.FingerprintList) > MaxEntries {
		return V1Answer{}, fmt.Errorf("failed to parse v1 answer: %d entries: %w", len(w.FingerprintList), ErrTooLarge)
	}
	var a V1Answer
	for _, e := range w.FingerprintList {
		fp, err := NormalizeSHA1Fingerprint(e.Fingerprint)
		if err != nil {
			return V1Answer{}, fmt.Errorf("failed to parse v1 answer: %w", err)
		}
		a.Fingerprints = append(a.Fingerprints, V1Entry{Fingerprint: fp, Start: int64(e.Timestamp.Start), Finish: int64(e.Timestamp.Finish)})
	}
	if w.Signature == nil {
		return V1Answer{}, fmt.Errorf("failed to parse v1 answer: no signature: %w", ErrMalformed)
	}
	sig, err := base64.StdEncoding.DecodeString(*w.Signature)
	if err != nil {
		return V1Answer{}, fmt.Errorf("failed to parse v1 answer: signature is not base64: %w", ErrMalformed)
	}
	a.Signature = sig
	return a, nil
}

// VerifyV1 parses a v1 answer body and checks its signature with the notary's public key
// (the key of the certificate in its bundle). It verifies over the received bytes with
// the "signature" member cut out textually (V1SignedBytes); if that fails, over the
// re-serialised form (MarshalV1Unsigned of the parsed entries, in received order), so a
// notary that printed the members in another order or spacing still verifies when its
// signed text was the original's form.
func VerifyV1(body []byte, pub crypto.PublicKey) (V1Answer, error) {
	a, err := ParseV1(body)
	if err != nil {
		return V1Answer{}, err
	}
	alg, err := AlgorithmV1(pub)
	if err != nil {
		return V1Answer{}, err
	}
	cut, err := V1SignedBytes(body)
	if err != nil {
		return V1Answer{}, err
	}
	if verr := verify(pub, alg, cut, a.Signature); verr == nil {
		return a, nil
	}
	re, err := MarshalV1Unsigned(a.Fingerprints)
	if err != nil {
		return V1Answer{}, err
	}
	if err := verify(pub, alg, re, a.Signature); err != nil {
		return V1Answer{}, fmt.Errorf("failed to verify v1 answer: %w", err)
	}
	return a, nil
}
