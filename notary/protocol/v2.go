package protocol

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Verdict is the result of one check a notary ran.
type Verdict string

// The verdicts of a check.
const (
	VerdictAgree     Verdict = "agree"      // the check supports the asked certificate
	VerdictDisagree  Verdict = "disagree"   // the check contradicts it
	VerdictNoOpinion Verdict = "no-opinion" // the check has nothing to say (e.g. no TLSA records)
	VerdictError     Verdict = "error"      // the check failed to run (detail says why)
)

// The names of the checks a notary can run.
const (
	CheckNetwork = "network" // network perspective: the notary's own view of the site
	CheckCA      = "ca"      // CA validation of the chain against the notary's system roots
	CheckDANE    = "dane"    // DANE/TLSA through a validating resolver
)

// Status is the overall answer of a v2 notary.
type Status string

// The overall statuses of a v2 answer.
const (
	StatusConfirmed    Status = "confirmed"    // every deciding check agrees (v1: 200)
	StatusMismatch     Status = "mismatch"     // a deciding check disagrees (v1: 409)
	StatusUnreachable  Status = "unreachable"  // the notary could not reach the site (v1: 503)
	StatusInconclusive Status = "inconclusive" // no disagreement, but not all deciding checks agree, or nothing was asked
)

// V2Target is the site a v2 request asks about.
type V2Target struct {
	Host string `json:"host"` // canonical per NormalizeHost
	Port int    `json:"port"`
}

// V2Request is the JSON body of POST /v2/check.
type V2Request struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	SHA256 string `json:"sha256,omitempty"` // leaf certificate, lowercase hex; empty = only report
	Nonce  string `json:"nonce"`            // 16-64 random bytes, lowercase hex
}

// V2Check is the verdict of one check.
type V2Check struct {
	Name     string  `json:"name"`             // CheckNetwork, CheckCA, CheckDANE or a later one
	Verdict  Verdict `json:"verdict"`          // agree, disagree, no-opinion, error
	Deciding bool    `json:"deciding"`         // whether the operator lets it decide Status
	Detail   string  `json:"detail,omitempty"` // reason in plain words, e.g. why a chain failed
}

// V2Observation is one certificate the notary has seen for the target.
type V2Observation struct {
	SHA256    string `json:"sha256"`
	FirstSeen int64  `json:"first_seen"` // unix seconds
	LastSeen  int64  `json:"last_seen"`  // unix seconds
}

// V2Signature is the signature member of a v2 answer.
type V2Signature struct {
	Alg   string `json:"alg"`   // AlgECDSAP256SHA256 or AlgEd25519
	Value []byte `json:"value"` // standard base64 in JSON
	// Batch is set when the signature is over a batch's Merkle root rather than over
	// this answer (see SignV2Batch); nil for an answer signed alone.
	Batch *V2Batch `json:"batch,omitempty"`
}

// V2Answer is the body of a v2 answer.
type V2Answer struct {
	Version      int             `json:"version"` // always 2
	Nonce        string          `json:"nonce"`   // echoed from the request
	Time         int64           `json:"time"`    // the notary's clock, unix seconds
	Target       V2Target        `json:"target"`
	SHA256       string          `json:"sha256"`           // the asked fingerprint, "" if none
	Window       int64           `json:"freshness_window"` // seconds; seen within it = confirmed
	Observations []V2Observation `json:"observations"`     // newest last_seen first
	Checks       []V2Check       `json:"checks"`
	Status       Status          `json:"status"`
	Signature    V2Signature     `json:"-"` // set by ParseV2Answer
}

// NewV2Request builds a request with a fresh random 32-byte nonce. sha256 may be empty
// to ask only for the notary's observations.
func NewV2Request(host string, port int, sha256 string) (V2Request, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return V2Request{}, err
	}
	if err := CheckPort(port); err != nil {
		return V2Request{}, err
	}
	if sha256 != "" {
		if sha256, err = NormalizeSHA256Fingerprint(sha256); err != nil {
			return V2Request{}, err
		}
	}
	var n [32]byte
	if _, err := rand.Read(n[:]); err != nil {
		return V2Request{}, fmt.Errorf("failed to make nonce: %w", err)
	}
	return V2Request{Host: h, Port: port, SHA256: sha256, Nonce: hex.EncodeToString(n[:])}, nil
}

// Marshal returns the JSON body of the request.
func (r V2Request) Marshal() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal v2 request: %w", err)
	}
	return b, nil
}

// ParseV2Request parses and checks a request body (at most MaxV2RequestSize bytes,
// unknown fields rejected) and returns it in canonical form.
func ParseV2Request(body []byte) (V2Request, error) {
	if len(body) > MaxV2RequestSize {
		return V2Request{}, fmt.Errorf("failed to parse v2 request: %d bytes: %w", len(body), ErrTooLarge)
	}
	r, ok := decodeV2RequestFast(body)
	if !ok {
		var err error
		if r, err = decodeV2Request(body); err != nil {
			return V2Request{}, err
		}
	}
	h, err := NormalizeHost(r.Host)
	if err != nil {
		return V2Request{}, fmt.Errorf("failed to parse v2 request: %w", err)
	}
	r.Host = h
	if err := CheckPort(r.Port); err != nil {
		return V2Request{}, fmt.Errorf("failed to parse v2 request: %w", err)
	}
	if r.SHA256 != "" {
		if r.SHA256, err = NormalizeSHA256Fingerprint(r.SHA256); err != nil {
			return V2Request{}, fmt.Errorf("failed to parse v2 request: %w", err)
		}
	}
	if err := checkNonce(r.Nonce); err != nil {
		return V2Request{}, fmt.Errorf("failed to parse v2 request: %w", err)
	}
	return r, nil
}

// decodeV2Request decodes a request body with encoding/json: unknown members are
// rejected, data after the first value is ignored.
func decodeV2Request(body []byte) (V2Request, error) {
	var r V2Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return V2Request{}, fmt.Errorf("failed to parse v2 request: %w: %w", ErrMalformed, err)
	}
	return r, nil
}

func checkNonce(n string) error {
	b, err := hex.DecodeString(n)
	if err != nil || len(b) < 16 || len(b) > 64 || hex.EncodeToString(b) != n {
		return fmt.Errorf("nonce %q: want 16-64 bytes in lowercase hex: %w", n, ErrMalformed)
	}
	return nil
}

// SignV2 signs an answer with the notary's v2 key (ECDSA P-256 or Ed25519) and returns
// the body: the canonical form of the answer (see Canonicalize) with the member
// "signature":{"alg":...,"value":...} appended last. a.Version is taken as 2. A notary
// answering many requests alike prepares the answer once (PrepareV2) and signs per
// request; this is the same path.
func SignV2(a V2Answer, key crypto.Signer) ([]byte, error) {
	p, err := PrepareV2(a, key.Public())
	if err != nil {
		return nil, err
	}
	return p.Sign(a.Nonce, a.Time, key)
}

// ParseV2Answer parses a v2 answer body (at most MaxV2AnswerSize bytes) without checking
// its signature.
func ParseV2Answer(body []byte) (V2Answer, error) {
	if len(body) > MaxV2AnswerSize {
		return V2Answer{}, fmt.Errorf("failed to parse v2 answer: %d bytes: %w", len(body), ErrTooLarge)
	}
	var w struct {
		V2Answer
		Signature *V2Signature `json:"signature"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return V2Answer{}, fmt.Errorf("failed to parse v2 answer: %w: %w", ErrMalformed, err)
	}
	a := w.V2Answer
	if a.Version != 2 {
		return V2Answer{}, fmt.Errorf("failed to parse v2 answer: version %d: %w", a.Version, ErrMalformed)
	}
	if w.Signature == nil {
		return V2Answer{}, fmt.Errorf("failed to parse v2 answer: no signature: %w", ErrMalformed)
	}
	if len(a.Observations) > MaxEntries || len(a.Checks) > MaxEntries {
		return V2Answer{}, fmt.Errorf("failed to parse v2 answer: too many entries: %w", ErrTooLarge)
	}
	a.Signature = *w.Signature
	return a, nil
}

// VerifyV2 parses a v2 answer and checks its signature with the notary's v2 public key:
// over Canonicalize(body) without the top-level "signature" member, so the received
// bytes are what is verified, whatever their spacing or member order; for a batch
// signature (signature.batch), those bytes are the leaf whose path must lead to the
// signed root. The signature's alg must match the key.
func VerifyV2(body []byte, pub crypto.PublicKey) (V2Answer, error) {
	a, err := ParseV2Answer(body)
	if err != nil {
		return V2Answer{}, err
	}
	alg, err := AlgorithmV2(pub)
	if err != nil {
		return V2Answer{}, err
	}
	if a.Signature.Alg != alg {
		return V2Answer{}, fmt.Errorf("failed to verify v2 answer: alg %q for a %s key: %w", a.Signature.Alg, alg, ErrBadSignature)
	}
	canon, err := Canonicalize(body, "signature")
	if err != nil {
		return V2Answer{}, err
	}
	if a.Signature.Batch != nil {
		err = verifyBatch(pub, a.Signature, canon)
	} else {
		err = verify(pub, alg, canon, a.Signature.Value)
	}
	if err != nil {
		return V2Answer{}, fmt.Errorf("failed to verify v2 answer: %w", err)
	}
	return a, nil
}

// Answers reports whether a (already verified) answers r: same nonce, target and asked
// fingerprint. It returns an error wrapping ErrMismatch otherwise.
func (a V2Answer) Answers(r V2Request) error {
	switch {
	case a.Nonce != r.Nonce:
		return fmt.Errorf("failed to match v2 answer: nonce %q, asked %q: %w", a.Nonce, r.Nonce, ErrMismatch)
	case a.Target.Host != r.Host || a.Target.Port != r.Port:
		return fmt.Errorf("failed to match v2 answer: target %q port %d, asked %q port %d: %w", a.Target.Host, a.Target.Port, r.Host, r.Port, ErrMismatch)
	case a.SHA256 != r.SHA256:
		return fmt.Errorf("failed to match v2 answer: fingerprint %q, asked %q: %w", a.SHA256, r.SHA256, ErrMismatch)
	}
	return nil
}

// Check returns the check named name and whether the answer has it.
func (a V2Answer) Check(name string) (V2Check, bool) {
	for _, c := range a.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return V2Check{}, false
}

// OverallStatus decides the status of an answer from its checks (a pure function; see
// docs/PROTOCOL.md). asked says whether the request carried a fingerprint.
func OverallStatus(checks []V2Check, asked bool) Status {
	if !asked {
		return StatusInconclusive
	}
	agree, failed, netFailed := false, false, false
	for _, c := range checks {
		if !c.Deciding {
			continue
		}
		switch c.Verdict {
		case VerdictDisagree:
			return StatusMismatch
		case VerdictAgree:
			agree = true
		case VerdictError:
			failed = true
			netFailed = netFailed || c.Name == CheckNetwork
		}
	}
	switch {
	case netFailed && !agree:
		return StatusUnreachable
	case failed || !agree:
		return StatusInconclusive
	}
	return StatusConfirmed
}
