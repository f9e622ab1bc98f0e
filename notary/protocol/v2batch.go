package protocol

import (
	"crypto"
	"encoding/base64"
	"fmt"
	"strconv"
)

// Batch signatures (docs/PROTOCOL.md, "Batch signatures"): a notary answering many
// requests at once signs one Merkle root over their canonical answers, and each answer
// carries that signature and its leaf's path, as Roughtime does. A client asks for them
// with the request header V2BatchHeader; without it the notary signs each answer alone,
// as before, so clients that predate batches keep working.

// V2BatchHeader is the request header by which a client says it accepts batch-signed
// answers; its value is V2BatchMerkle.
const (
	V2BatchHeader = "Convergence-Batch"
	V2BatchMerkle = "merkle-sha256"
)

// V2Batch is the "batch" member of a batch-signed answer's signature: where its leaf
// sits in the signed tree and the path from it to the root.
type V2Batch struct {
	Index int      `json:"index"` // the leaf's index, 0 to Size-1
	Size  int      `json:"size"`  // the tree's number of leaves
	Path  [][]byte `json:"path"`  // RFC 9162 audit path, leaf to root; standard base64 in JSON
}

// batchContext starts the signed message of a batch: it cannot start a canonical
// answer (those start with '{'), so a root's signature is never an answer's.
const batchContext = "convergence-notary v2 batch root\x00"

// BatchSignedMessage is what the notary's key signs for a batch: the context string
// and the tree's root.
func BatchSignedMessage(root MerkleHash) []byte {
	return append([]byte(batchContext), root[:]...)
}

// SignV2Batch signs the canonical answers canons (each from V2Prepared.Canonical, all
// for alg, the algorithm of key) with one signature over the Merkle root of their
// leaves, and returns each answer's body in order: the canonical bytes with
// `,"signature":{"alg":...,"batch":{...},"value":...}` inserted before the final '}'.
// A batch of one has an empty path and its root is its leaf.
func SignV2Batch(canons [][]byte, alg string, key crypto.Signer) ([][]byte, error) {
	leaves := make([]MerkleHash, len(canons))
	for i, c := range canons {
		leaves[i] = MerkleLeaf(c)
	}
	t, err := NewMerkleTree(leaves)
	if err != nil {
		return nil, err
	}
	sig, err := sign(key, alg, BatchSignedMessage(t.Root()))
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(canons))
	for i, c := range canons {
		bodies[i] = appendBatchSignature(c, alg, sig, i, t.Size(), t.Path(i))
	}
	return bodies, nil
}

// appendBatchSignature renders the body of canonical answer canon signed in a batch.
func appendBatchSignature(canon []byte, alg string, sig []byte, index, size int, path [][]byte) []byte {
	b := make([]byte, 0, len(canon)+signatureRoom+64+len(path)*46)
	b = append(b, canon[:len(canon)-1]...)
	b = append(b, `,"signature":{"alg":`...)
	b = appendCanonString(b, alg)
	b = append(b, `,"batch":{"index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"path":[`...)
	for i, p := range path {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, p)
		b = append(b, '"')
	}
	b = append(b, `],"size":`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `},"value":"`...)
	b = base64.StdEncoding.AppendEncode(b, sig)
	return append(b, `"}}`...)
}

// verifyBatch checks a batch signature: the answer's canonical bytes are the leaf, the
// path leads from it to a root, and the signature is over that root.
func verifyBatch(pub crypto.PublicKey, s V2Signature, canon []byte) error {
	root, err := MerkleRootFromPath(MerkleLeaf(canon), s.Batch.Index, s.Batch.Size, s.Batch.Path)
	if err != nil {
		return err
	}
	if err := verify(pub, s.Alg, BatchSignedMessage(root), s.Value); err != nil {
		return fmt.Errorf("failed to verify batch root: %w", err)
	}
	return nil
}
