// Package protocol holds the wire formats shared by the notary server and its clients:
// v1 (the original Convergence answer), v2 (ours), signatures and .notary bundles.
//
// Everything here is pure data and crypto over bytes, with no I/O; it is safe for
// concurrent use. docs/PROTOCOL.md is the normative description; the tests check its
// vectors both ways.
package protocol

import "errors"

// Sentinel errors callers branch on. Errors returned by this package wrap them.
var (
	// ErrMalformed means the input is not in the expected shape.
	ErrMalformed = errors.New("malformed input")
	// ErrTooLarge means the input exceeds the size limit for its kind.
	ErrTooLarge = errors.New("input too large")
	// ErrBadSignature means the signature does not verify with the given key.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrUnsupportedKey means the key type cannot be used for this protocol.
	ErrUnsupportedKey = errors.New("unsupported key type")
	// ErrMismatch means a v2 answer does not answer the request it is checked against
	// (nonce, target or fingerprint differ).
	ErrMismatch = errors.New("answer does not match request")
)

// Size limits. Inputs larger than these are rejected with ErrTooLarge before parsing.
const (
	// MaxV1AnswerSize bounds a v1 answer body.
	MaxV1AnswerSize = 256 << 10
	// MaxV2AnswerSize bounds a v2 answer body.
	MaxV2AnswerSize = 256 << 10
	// MaxV2RequestSize bounds a v2 request body.
	MaxV2RequestSize = 4 << 10
	// MaxBundleSize bounds a .notary bundle file.
	MaxBundleSize = 64 << 10
	// MaxEntries bounds the number of fingerprints or observations in one answer.
	MaxEntries = 1024
)
