package loadrig

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// SignFloorCase is the bench's second reference: a bare Go HTTPS handler that does only
// what a v2 answer cannot avoid, one Ed25519 signature per request over bytes that
// include the request (a v2 answer covers the client's nonce), in a body of about the
// size of a v2 answer. Its ratio to the bare handler is the ceiling a v2 notary can reach
// on the same machine; the v2 cases' distance below it is the notary's own cost.
var SignFloorCase = ServeCase{Name: "bare+ed25519"}

// signFloorPad stands for the prepared, request-independent part of a v2 answer.
var signFloorPad = bytes.Repeat([]byte{'a'}, 800)

// StartSignFloor serves the SignFloorCase handler over TLS (an ECDSA P-256 certificate,
// as the bare handler) and returns its URL and its Ed25519 public key. The answer is
// signFloorPad, the request body, then the 64-byte signature over both.
func StartSignFloor(tb testing.TB) (string, ed25519.PublicKey, error) {
	tb.Helper()
	id, err := keys.LoadOrCreate(filepath.Join(tb.TempDir(), "floor"), keys.KeyECDSA, []string{"127.0.0.1"})
	if err != nil {
		return "", nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, fmt.Errorf("failed to generate the floor's key: %w", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := io.ReadAll(io.LimitReader(r.Body, protocol.MaxV2RequestSize))
		if err != nil {
			http.Error(w, "failed to read request", http.StatusBadRequest)
			return
		}
		msg := append(append(make([]byte, 0, len(signFloorPad)+len(req)+ed25519.SignatureSize), signFloorPad...), req...)
		sig, err := priv.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			http.Error(w, "failed to sign", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(msg, sig...))
	}))
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.TLS}}
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv.URL, pub, nil
}

// CheckSignFloor posts body to the floor at url and checks that the answer holds the
// request and a valid signature over it.
func CheckSignFloor(url string, pub ed25519.PublicKey, body []byte) error {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // a throwaway loopback certificate; the signature is what is checked
		VerifyConnection:   func(tls.ConnectionState) error { return nil },
	}}}
	defer c.CloseIdleConnections()
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("failed to ask the sign floor: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxV2AnswerSize))
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("failed to ask the sign floor: status %d, %v", resp.StatusCode, err)
	}
	n := len(got) - ed25519.SignatureSize
	if n < 0 || !bytes.Equal(got[:max(n, 0)], append(append([]byte{}, signFloorPad...), body...)) {
		return fmt.Errorf("sign floor answered %q, not the pad and the request", got)
	}
	if !ed25519.Verify(pub, got[:n], got[n:]) {
		return fmt.Errorf("sign floor's signature does not verify: %w", protocol.ErrBadSignature)
	}
	return nil
}
