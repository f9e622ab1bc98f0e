package protocol

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// SHA1Fingerprint returns the v1 fingerprint of a DER certificate: SHA-1, uppercase
// hex, colon separated (59 characters).
func SHA1Fingerprint(der []byte) string {
	sum := sha1.Sum(der)
	return colonHex(sum[:])
}

// SHA256Fingerprint returns the v2 fingerprint of a DER certificate: SHA-256, lowercase
// hex without separators (64 characters).
func SHA256Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func colonHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0x0f])
	}
	return string(out)
}

// NormalizeSHA1Fingerprint checks a v1 fingerprint and returns it in canonical form
// (uppercase, colon separated). It accepts either case.
func NormalizeSHA1Fingerprint(s string) (string, error) {
	up := strings.ToUpper(strings.TrimSpace(s))
	if len(up) != 59 {
		return "", fmt.Errorf("failed to parse SHA-1 fingerprint %q: want 20 colon-separated hex bytes: %w", s, ErrMalformed)
	}
	for i := 0; i < len(up); i++ {
		c := up[i]
		if i%3 == 2 {
			if c != ':' {
				return "", fmt.Errorf("failed to parse SHA-1 fingerprint %q: want ':' at offset %d: %w", s, i, ErrMalformed)
			}
			continue
		}
		if !isUpperHex(c) {
			return "", fmt.Errorf("failed to parse SHA-1 fingerprint %q: not hex at offset %d: %w", s, i, ErrMalformed)
		}
	}
	return up, nil
}

// NormalizeSHA256Fingerprint checks a v2 fingerprint and returns it in canonical form
// (64 lowercase hex digits). It accepts uppercase and colon-separated input.
func NormalizeSHA256Fingerprint(s string) (string, error) {
	low := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if len(low) != 64 {
		return "", fmt.Errorf("failed to parse SHA-256 fingerprint %q: want 64 hex digits: %w", s, ErrMalformed)
	}
	if _, err := hex.DecodeString(low); err != nil {
		return "", fmt.Errorf("failed to parse SHA-256 fingerprint %q: %w", s, ErrMalformed)
	}
	return low, nil
}

func isUpperHex(c byte) bool { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') }
