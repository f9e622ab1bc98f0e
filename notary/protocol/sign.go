package protocol

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
)

// Signature algorithm names used in v2 answers and bundles.
const (
	AlgECDSAP256SHA256 = "ecdsa-p256-sha256" // ASN.1 DER ECDSA signature over SHA-256
	AlgEd25519         = "ed25519"           // pure Ed25519
	AlgRSAPKCS1SHA1    = "rsa-pkcs1-sha1"    // RSASSA-PKCS1-v1_5 over SHA-1 (v1 only)
)

// AlgorithmV1 returns the v1 signature algorithm for a public key: RSA keys sign with
// RSASSA-PKCS1-v1_5/SHA-1 as the original did; ECDSA P-256 and Ed25519 keys (our own
// notaries) sign as in v2.
func AlgorithmV1(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return AlgRSAPKCS1SHA1, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("failed to pick v1 algorithm: ECDSA curve %q: %w", k.Curve.Params().Name, ErrUnsupportedKey)
		}
		return AlgECDSAP256SHA256, nil
	case ed25519.PublicKey:
		return AlgEd25519, nil
	}
	return "", fmt.Errorf("failed to pick v1 algorithm: key %T: %w", pub, ErrUnsupportedKey)
}

// AlgorithmV2 returns the v2 signature algorithm for a public key. v2 accepts only
// ECDSA P-256 and Ed25519.
func AlgorithmV2(pub crypto.PublicKey) (string, error) {
	alg, err := AlgorithmV1(pub)
	if err != nil {
		return "", err
	}
	if alg == AlgRSAPKCS1SHA1 {
		return "", fmt.Errorf("failed to pick v2 algorithm: RSA keys sign v1 only: %w", ErrUnsupportedKey)
	}
	return alg, nil
}

// sign signs msg with key using alg.
func sign(key crypto.Signer, alg string, msg []byte) ([]byte, error) {
	var (
		sig []byte
		err error
	)
	switch alg {
	case AlgRSAPKCS1SHA1:
		sum := sha1.Sum(msg)
		sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA1)
	case AlgECDSAP256SHA256:
		sum := sha256.Sum256(msg)
		sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA256)
	case AlgEd25519:
		sig, err = key.Sign(rand.Reader, msg, crypto.Hash(0))
	default:
		return nil, fmt.Errorf("failed to sign: algorithm %q: %w", alg, ErrUnsupportedKey)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to sign answer: %w", err)
	}
	return sig, nil
}

// verify checks sig over msg with pub using alg; it returns ErrBadSignature on mismatch.
func verify(pub crypto.PublicKey, alg string, msg, sig []byte) error {
	ok := false
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg == AlgRSAPKCS1SHA1 {
			sum := sha1.Sum(msg)
			ok = rsa.VerifyPKCS1v15(k, crypto.SHA1, sum[:], sig) == nil
		}
	case *ecdsa.PublicKey:
		if alg == AlgECDSAP256SHA256 && k.Curve == elliptic.P256() {
			sum := sha256.Sum256(msg)
			ok = ecdsa.VerifyASN1(k, sum[:], sig)
		}
	case ed25519.PublicKey:
		if alg == AlgEd25519 && len(k) == ed25519.PublicKeySize {
			ok = ed25519.Verify(k, msg, sig)
		}
	default:
		return fmt.Errorf("failed to verify signature: key %T: %w", pub, ErrUnsupportedKey)
	}
	if !ok {
		return fmt.Errorf("failed to verify %s signature: %w", alg, ErrBadSignature)
	}
	return nil
}
