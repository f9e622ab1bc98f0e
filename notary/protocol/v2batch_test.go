package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// batchOf signs n answers like the vector's, each with its own nonce, in one batch.
func batchOf(t *testing.T, keyName string, n int) ([]V2Answer, [][]byte) {
	t.Helper()
	key := loadKey(t, keyName)
	p, err := PrepareV2(vectorV2Answer(), key.Public())
	if err != nil {
		t.Fatal(err)
	}
	answers := make([]V2Answer, n)
	canons := make([][]byte, n)
	for i := range n {
		a := vectorV2Answer()
		a.Version = 2
		a.Nonce = fmt.Sprintf("%064x", i+1)
		answers[i] = a
		if canons[i], err = p.Canonical(a.Nonce, a.Time); err != nil {
			t.Fatal(err)
		}
	}
	bodies, err := SignV2Batch(canons, p.Alg(), key)
	if err != nil {
		t.Fatal(err)
	}
	return answers, bodies
}

// TestSignV2Batch: every answer of a batch verifies with the notary's key, means what
// was signed (its own nonce), and carries its index, the batch's size and a path; a
// batch of one has an empty path.
func TestSignV2Batch(t *testing.T) {
	for _, k := range []struct{ key, pub string }{{"v2-ed25519-key.pem", "v2-ed25519-pub.pem"}, {"v2-ecdsa-key.pem", "v2-ecdsa-pub.pem"}} {
		pub := loadPub(t, k.pub)
		for _, n := range []int{1, 2, 5, 64} {
			answers, bodies := batchOf(t, k.key, n)
			for i, body := range bodies {
				a, err := VerifyV2(body, pub)
				if err != nil {
					t.Fatalf("%s batch of %d, answer %d: %v\n%s", k.key, n, i, err, body)
				}
				if !bytes.Equal(v2Meaning(t, a), v2Meaning(t, answers[i])) {
					t.Fatalf("answer %d means %s, want %s", i, v2Meaning(t, a), v2Meaning(t, answers[i]))
				}
				b := a.Signature.Batch
				if b == nil || b.Index != i || b.Size != n || (n == 1) != (len(b.Path) == 0) {
					t.Fatalf("answer %d of %d: batch member %+v", i, n, b)
				}
			}
		}
	}
}

// setSignature replaces body's signature member.
func setSignature(t *testing.T, body []byte, sig V2Signature) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(sig)
	m["signature"] = raw
	out, _ := json.Marshal(m)
	return out
}

func sigOf(t *testing.T, body []byte) V2Signature {
	t.Helper()
	a, err := ParseV2Answer(body)
	if err != nil {
		t.Fatal(err)
	}
	return a.Signature
}

// TestVerifyV2BatchForgeries: what an attacker can make of batch-signed answers
// without the key fails as a bad signature: another leaf's path or index, a path with
// a bit flipped, another batch's root signature, an answer changed, and the two kinds
// of signature passed for each other.
func TestVerifyV2BatchForgeries(t *testing.T) {
	pub := loadPub(t, "v2-ed25519-pub.pem")
	_, bodies := batchOf(t, "v2-ed25519-key.pem", 5)
	_, other := batchOf(t, "v2-ed25519-key.pem", 6)
	_, one := batchOf(t, "v2-ed25519-key.pem", 1)
	plain, err := SignV2(vectorV2Answer(), loadKey(t, "v2-ed25519-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyV2(setSignature(t, bodies[2], sigOf(t, bodies[2])), pub); err != nil {
		t.Fatalf("the test's re-encoding breaks an honest answer: %v", err)
	}
	forge := map[string][]byte{}
	s := sigOf(t, bodies[2])
	s.Batch.Index = 3
	forge["another index"] = setSignature(t, bodies[2], s)
	forge["another leaf's signature member"] = setSignature(t, bodies[2], sigOf(t, bodies[3]))
	s = sigOf(t, bodies[2])
	s.Batch.Path[1][0] ^= 1
	forge["a flipped path bit"] = setSignature(t, bodies[2], s)
	s = sigOf(t, bodies[2])
	s.Batch.Size = 4
	forge["another size"] = setSignature(t, bodies[2], s)
	s = sigOf(t, bodies[2])
	s.Value = sigOf(t, other[2]).Value
	forge["another root's signature"] = setSignature(t, bodies[2], s)
	forge["a changed answer"] = bytes.Replace(bodies[2], []byte(`"status":"confirmed"`), []byte(`"status":"mismatch"`), 1)
	s = sigOf(t, one[0])
	s.Batch = nil
	forge["a root signature as the answer's own"] = setSignature(t, one[0], s)
	s = sigOf(t, plain)
	s.Batch = &V2Batch{Index: 0, Size: 1}
	forge["an answer's own signature as a root's"] = setSignature(t, plain, s)
	for name, body := range forge {
		if _, err := VerifyV2(body, pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err %v, want ErrBadSignature\n%s", name, err, body)
		}
	}
}

// TestV2BatchVector checks the documented batch vector both ways: it verifies, and
// SignV2Batch over the same three answers gives its bytes.
func TestV2BatchVector(t *testing.T) {
	v := docVectors(t)
	doc := v["v2-batch-ed25519"]
	if len(doc) == 0 {
		t.Fatal("vector v2-batch-ed25519 missing from PROTOCOL.md")
	}
	a, err := VerifyV2(doc, loadPub(t, "v2-ed25519-pub.pem"))
	if err != nil {
		t.Fatalf("documented batch vector: %v", err)
	}
	if a.Signature.Batch == nil || a.Signature.Batch.Index != 2 || a.Signature.Batch.Size != 3 {
		t.Fatalf("batch member %+v, want index 2 of 3", a.Signature.Batch)
	}
	canon := v["v2-canonical"]
	nonce := []byte(vectorV2Answer().Nonce)
	var rev []byte
	for i := 31; i >= 0; i-- {
		rev = fmt.Appendf(rev, "%02x", i)
	}
	canons := [][]byte{
		bytes.Replace(canon, nonce, rev, 1),
		bytes.Replace(canon, nonce, bytes.Repeat([]byte("ff"), 32), 1),
		canon,
	}
	bodies, err := SignV2Batch(canons, AlgEd25519, loadKey(t, "v2-ed25519-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bodies[2], doc) {
		t.Fatalf("SignV2Batch gives\n%s\nthe document has\n%s", bodies[2], doc)
	}
}
