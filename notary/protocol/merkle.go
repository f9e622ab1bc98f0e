package protocol

import (
	"crypto/sha256"
	"fmt"
)

// The Merkle tree that batch-signed v2 answers hang from (docs/PROTOCOL.md, "Batch
// signatures"): RFC 9162's (Certificate Transparency's) tree over SHA-256, with its
// domain separation: a leaf is hashed as SHA-256(0x00 || data), a node as
// SHA-256(0x01 || left || right), so no leaf can pass for a node or a node for a leaf.
// A tree of n leaves splits at the largest power of two below n; built bottom up, that
// is pairing each level's nodes in order and carrying a last, unpaired node up as it is.

// MerkleHash is a leaf or node hash.
type MerkleHash = [sha256.Size]byte

// MaxBatchPath bounds the path a verifier accepts (a tree of up to 2^32 leaves).
const MaxBatchPath = 32

const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// MerkleLeaf is the hash of a leaf holding data.
func MerkleLeaf(data []byte) MerkleHash {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(data)
	var out MerkleHash
	h.Sum(out[:0])
	return out
}

func merkleNode(l, r *MerkleHash) MerkleHash {
	var b [1 + 2*sha256.Size]byte
	b[0] = nodePrefix
	copy(b[1:], l[:])
	copy(b[1+sha256.Size:], r[:])
	return sha256.Sum256(b[:])
}

// MerkleTree is a tree built over leaf hashes, every level kept so each leaf's path is
// read off it.
type MerkleTree struct {
	levels [][]MerkleHash // levels[0] the leaves, the last one the root alone
}

// NewMerkleTree builds the tree over leaves (at least one).
func NewMerkleTree(leaves []MerkleHash) (*MerkleTree, error) {
	if len(leaves) == 0 {
		return nil, fmt.Errorf("failed to build Merkle tree: no leaves: %w", ErrMalformed)
	}
	t := &MerkleTree{levels: [][]MerkleHash{leaves}}
	for cur := leaves; len(cur) > 1; {
		next := make([]MerkleHash, 0, (len(cur)+1)/2)
		for i := 0; i+1 < len(cur); i += 2 {
			next = append(next, merkleNode(&cur[i], &cur[i+1]))
		}
		if len(cur)%2 == 1 {
			next = append(next, cur[len(cur)-1])
		}
		t.levels = append(t.levels, next)
		cur = next
	}
	return t, nil
}

// Root is the tree's root hash.
func (t *MerkleTree) Root() MerkleHash { return t.levels[len(t.levels)-1][0] }

// Size is the number of leaves.
func (t *MerkleTree) Size() int { return len(t.levels[0]) }

// Path is the audit path of leaf i (RFC 9162 2.1.3.1): the siblings from the leaf up,
// empty for a tree of one leaf.
func (t *MerkleTree) Path(i int) [][]byte {
	var path [][]byte
	for _, lvl := range t.levels[:len(t.levels)-1] {
		if s := i ^ 1; s < len(lvl) {
			path = append(path, lvl[s][:])
		}
		i /= 2
	}
	return path
}

// MerkleRootFromPath is the root that leaf at index of a tree of size leaves reaches
// through path (RFC 9162 2.1.3.2). It fails when the path's length does not fit index
// and size, or an element is not a hash; a path that fits but is wrong gives another
// root, which the root's signature then refuses.
func MerkleRootFromPath(leaf MerkleHash, index, size int, path [][]byte) (MerkleHash, error) {
	if index < 0 || size < 1 || index >= size || len(path) > MaxBatchPath {
		return MerkleHash{}, fmt.Errorf("failed to verify batch path: index %d of %d, %d hashes: %w", index, size, len(path), ErrBadSignature)
	}
	fn, sn := uint64(index), uint64(size-1)
	r := leaf
	for _, p := range path {
		if len(p) != sha256.Size || sn == 0 {
			return MerkleHash{}, fmt.Errorf("failed to verify batch path: does not fit index %d of %d: %w", index, size, ErrBadSignature)
		}
		s := MerkleHash(p)
		if fn&1 == 1 || fn == sn {
			r = merkleNode(&s, &r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = merkleNode(&r, &s)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return MerkleHash{}, fmt.Errorf("failed to verify batch path: too short for index %d of %d: %w", index, size, ErrBadSignature)
	}
	return r, nil
}
