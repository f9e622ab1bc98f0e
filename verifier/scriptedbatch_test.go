package verifier

import (
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// batchAnswer signs a, the honest answer, in a batch (protocol.SignV2Batch) and then
// forges it per the scripted notary's batch mode.
func (n *testNotary) batchAnswer(a protocol.V2Answer) ([]byte, int) {
	bodies, err := signBatch(n.key, a, 3, "aa")
	if err == nil && n.mode == modeBatchOtherRoot {
		var other [][]byte
		if other, err = signBatch(n.key, a, 3, "bb"); err == nil {
			sig := batchSig(n.t, bodies[1])
			sig.Value = batchSig(n.t, other[1]).Value
			bodies[1] = withSignature(n.t, bodies[1], sig)
		}
	}
	if err == nil && n.mode == modeBatchAsPlain {
		var one [][]byte
		if one, err = signBatch(n.key, a, 1, ""); err == nil {
			sig := batchSig(n.t, one[0])
			sig.Batch = nil
			bodies[1] = withSignature(n.t, one[0], sig)
		}
	}
	if err != nil {
		return []byte(err.Error()), http.StatusInternalServerError
	}
	switch n.mode {
	case modeBatchWrongPath:
		sig := batchSig(n.t, bodies[1])
		sig.Batch.Path[len(sig.Batch.Path)-1][7] ^= 0x10
		bodies[1] = withSignature(n.t, bodies[1], sig)
	case modeBatchOtherLeaf:
		bodies[1] = withSignature(n.t, bodies[1], batchSig(n.t, bodies[2]))
	case modeBatchNotOwn:
		return bodies[0], http.StatusOK
	}
	return bodies[1], http.StatusOK
}

// signBatch signs a batch of size answers: a at index 1 (at 0 for a batch of one),
// the others a with nonces made of decoy.
func signBatch(key crypto.Signer, a protocol.V2Answer, size int, decoy string) ([][]byte, error) {
	p, err := protocol.PrepareV2(a, key.Public())
	if err != nil {
		return nil, err
	}
	canons := make([][]byte, size)
	for i := range canons {
		nonce := a.Nonce
		if size > 1 && i != 1 {
			nonce = strings.Repeat(decoy, 31) + fmt.Sprintf("%02x", i)
		}
		if canons[i], err = p.Canonical(nonce, a.Time); err != nil {
			return nil, err
		}
	}
	return protocol.SignV2Batch(canons, p.Alg(), key)
}

// batchSig is the signature member of a batch-signed body.
func batchSig(t testing.TB, body []byte) protocol.V2Signature {
	t.Helper()
	a, err := protocol.ParseV2Answer(body)
	if err != nil {
		t.Fatal(err)
	}
	return a.Signature
}

// withSignature is body with its signature member replaced by sig.
func withSignature(t testing.TB, body []byte, sig protocol.V2Signature) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(sig)
	if err != nil {
		t.Fatal(err)
	}
	m["signature"] = raw
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBatchSignedAnswers: a notary that signs its answers in batches is believed, and
// its answers still decide (the attacker's certificate is refused).
func TestBatchSignedAnswers(t *testing.T) {
	e := newEnv(t, nil)
	e.start(Config{})
	e.add("a", modeBatch)
	e.add("b", modeBatch)
	vd := e.verify(e.real)
	if !vd.Allowed() || vd.Agreed != 2 {
		t.Fatalf("allowed = %v with %d vouching, want 2 batch-signed vouches: %+v", vd.Allowed(), vd.Agreed, vd.Answers)
	}
	for _, a := range vd.Answers {
		if a.Protocol != 2 {
			t.Errorf("%s answered in protocol %d, want 2", a.Notary, a.Protocol)
		}
	}
	if fake := e.verify(e.fake); fake.Allowed() || !fake.Disagreement() {
		t.Fatalf("attacker's certificate: allowed %v, disagreement %v", fake.Allowed(), fake.Disagreement())
	}
}
