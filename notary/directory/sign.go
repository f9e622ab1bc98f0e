package directory

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Header is the first line of a directory file; SignedPrefix is prepended to the body
// to make the message the directory key signs (so a signature over anything else
// cannot pass for one over a directory).
const (
	Header       = "convergence-directory v1"
	SignedPrefix = "convergence-directory v1\n"
)

// ErrBadSignature means a directory's signature does not verify under any key trusted:
// the file was changed after signing, or signed by another key.
var ErrBadSignature = errors.New("directory signature does not verify")

// ErrNoKey means no trusted key was given to verify a directory with.
var ErrNoKey = errors.New("no directory key given")

// PublicKey is a directory key, written "ed25519:" and the key in base64 (standard,
// padded): the form settings and the command line take.
type PublicKey ed25519.PublicKey

// String writes the key as ParsePublicKey reads it.
func (k PublicKey) String() string { return "ed25519:" + base64.StdEncoding.EncodeToString(k) }

// ID is the key's short name in a directory file: the first 8 bytes of the SHA-256 of
// the key, in hex.
func (k PublicKey) ID() string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8])
}

// ParsePublicKey reads "ed25519:BASE64".
func ParsePublicKey(s string) (PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), "ed25519:")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("failed to parse directory key %q: want \"ed25519:\" and 32 bytes in base64: %w", s, ErrMalformed)
	}
	return PublicKey(raw), nil
}

// GenerateKey makes a directory key pair and returns the private key as PEM (PKCS#8),
// to keep in a file of mode 0600.
func GenerateKey() (PublicKey, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to make a directory key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to encode the directory key: %w", err)
	}
	return PublicKey(pub), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads the PEM GenerateKey wrote.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("failed to parse directory private key: not a PEM PRIVATE KEY block: %w", ErrMalformed)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse directory private key: %w: %w", ErrMalformed, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("failed to parse directory private key: a %T, want Ed25519: %w", k, ErrMalformed)
	}
	return priv, nil
}

// Sign makes a directory file: the header, the key's ID, the Ed25519 signature over
// SignedPrefix and body, a blank line, then body exactly as given. body must parse
// (ParseBody).
func Sign(body []byte, priv ed25519.PrivateKey) ([]byte, error) {
	if _, err := ParseBody(body); err != nil {
		return nil, fmt.Errorf("failed to sign directory: %w", err)
	}
	pub := PublicKey(priv.Public().(ed25519.PublicKey))
	sig := ed25519.Sign(priv, signedMessage(body))
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s\nkey %s\nsignature %s\n\n", Header, pub.ID(), base64.StdEncoding.EncodeToString(sig))
	out.Write(body)
	return out.Bytes(), nil
}

func signedMessage(body []byte) []byte {
	return append([]byte(SignedPrefix), body...)
}

// Open checks a directory file's signature against the trusted keys, then parses the
// body it covers. Nothing of the file is read as a directory before the signature
// verifies. It returns the key that signed it.
func Open(file []byte, trusted []PublicKey) (Directory, PublicKey, error) {
	if len(trusted) == 0 {
		return Directory{}, nil, fmt.Errorf("failed to open directory: %w", ErrNoKey)
	}
	if len(file) > MaxSize+512 {
		return Directory{}, nil, fmt.Errorf("failed to open directory: %d bytes, limit %d: %w", len(file), MaxSize, ErrMalformed)
	}
	rest, ok := bytes.CutPrefix(file, []byte(Header+"\n"))
	if !ok {
		return Directory{}, nil, fmt.Errorf("failed to open directory: the first line is not %q: %w", Header, ErrMalformed)
	}
	keyLine, rest, _ := bytes.Cut(rest, []byte("\n"))
	sigLine, rest, _ := bytes.Cut(rest, []byte("\n"))
	body, ok := bytes.CutPrefix(rest, []byte("\n"))
	keyID, ok1 := strings.CutPrefix(string(keyLine), "key ")
	sigB64, ok2 := strings.CutPrefix(string(sigLine), "signature ")
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	// The decoder skips \r and \n: the line must be the signature's one encoding, so
	// that a file verifies in exactly one spelling.
	if err == nil && base64.StdEncoding.EncodeToString(sig) != sigB64 {
		err = errors.New("not canonical base64")
	}
	if !ok || !ok1 || !ok2 || err != nil || len(sig) != ed25519.SignatureSize {
		return Directory{}, nil, fmt.Errorf("failed to open directory: want the lines \"key ID\", \"signature BASE64\" and a blank line after the first: %w", ErrMalformed)
	}
	msg := signedMessage(body)
	for _, k := range trusted {
		if len(k) == ed25519.PublicKeySize && k.ID() == keyID && ed25519.Verify(ed25519.PublicKey(k), msg, sig) {
			d, err := ParseBody(body)
			if err != nil {
				return Directory{}, nil, err
			}
			return d, k, nil
		}
	}
	ids := make([]string, len(trusted))
	for i, k := range trusted {
		ids[i] = k.ID()
	}
	return Directory{}, nil, fmt.Errorf("failed to open directory signed by key %q (trusted: %s): %w",
		keyID, strings.Join(ids, ", "), ErrBadSignature)
}
