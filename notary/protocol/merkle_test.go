package protocol

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// refRoot is RFC 9162's MTH written as the RFC does (recursively, splitting at the
// largest power of two below n), to hold the bottom-up tree to it.
func refRoot(leaves []MerkleHash) MerkleHash {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := refRoot(leaves[:k]), refRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{nodePrefix}, l[:]...), r[:]...))
}

func testLeaves(n int) []MerkleHash {
	leaves := make([]MerkleHash, n)
	for i := range leaves {
		leaves[i] = MerkleLeaf([]byte{byte(i), byte(i >> 8), 'x'})
	}
	return leaves
}

// TestMerkleTree checks every tree of 1 to 70 leaves: the root is RFC 9162's, every
// leaf's path leads to it, and a flipped bit in any path element or in the leaf, the
// leaf at another index, or the path for another size, leads elsewhere or fails.
func TestMerkleTree(t *testing.T) {
	for n := 1; n <= 70; n++ {
		leaves := testLeaves(n)
		tree, err := NewMerkleTree(leaves)
		if err != nil {
			t.Fatal(err)
		}
		root := tree.Root()
		if root != refRoot(leaves) {
			t.Fatalf("size %d: root %x, RFC 9162 gives %x", n, root, refRoot(leaves))
		}
		for i := range n {
			path := tree.Path(i)
			got, err := MerkleRootFromPath(leaves[i], i, n, path)
			if err != nil || got != root {
				t.Fatalf("size %d leaf %d: root %x, %v; want %x", n, i, got, err, root)
			}
			if n == 1 && len(path) != 0 {
				t.Fatalf("size 1: path of %d hashes, want none", len(path))
			}
			for e := range path {
				for _, bit := range []int{0, 7, 8*sha256.Size - 1} {
					bad := clonePath(path)
					bad[e][bit/8] ^= 1 << (bit % 8)
					if got, err := MerkleRootFromPath(leaves[i], i, n, bad); err == nil && got == root {
						t.Fatalf("size %d leaf %d: path element %d with bit %d flipped still reaches the root", n, i, e, bit)
					}
				}
			}
			for _, bit := range []int{0, 100, 255} {
				leaf := leaves[i]
				leaf[bit/8] ^= 1 << (bit % 8)
				if got, err := MerkleRootFromPath(leaf, i, n, path); err == nil && got == root {
					t.Fatalf("size %d leaf %d: leaf with bit %d flipped still reaches the root", n, i, bit)
				}
			}
			flipped := root
			flipped[31] ^= 0x80
			if got == flipped {
				t.Fatalf("size %d leaf %d: reaches a root with a flipped bit", n, i)
			}
			for j := range n {
				if j == i {
					continue
				}
				if got, err := MerkleRootFromPath(leaves[i], j, n, path); err == nil && got == root {
					t.Fatalf("size %d: leaf %d's path verifies at index %d", n, i, j)
				}
				if got, err := MerkleRootFromPath(leaves[j], i, n, path); err == nil && got == root {
					t.Fatalf("size %d: leaf %d verifies with leaf %d's path", n, j, i)
				}
			}
			if len(path) > 0 {
				if _, err := MerkleRootFromPath(leaves[i], i, n, path[:len(path)-1]); err == nil {
					t.Fatalf("size %d leaf %d: a path short of a hash is accepted", n, i)
				}
			}
			if _, err := MerkleRootFromPath(leaves[i], i, n, append(clonePath(path), root[:])); err == nil {
				t.Fatalf("size %d leaf %d: a path with a hash too many is accepted", n, i)
			}
		}
	}
}

// TestMerkleDomainSeparation: an inner node presented as a leaf (a second-preimage
// attempt on a shorter tree) does not reach the root, since leaves and nodes are
// hashed with different prefixes.
func TestMerkleDomainSeparation(t *testing.T) {
	leaves := testLeaves(4)
	tree, _ := NewMerkleTree(leaves)
	left := merkleNode(&leaves[0], &leaves[1])
	right := merkleNode(&leaves[2], &leaves[3])
	// As a tree of two "leaves" whose data is the children's concatenation.
	data := append(append([]byte{}, leaves[0][:]...), leaves[1][:]...)
	if got, err := MerkleRootFromPath(MerkleLeaf(data), 0, 2, [][]byte{right[:]}); err == nil && got == tree.Root() {
		t.Fatal("an inner node's preimage passed as a leaf reaches the root")
	}
	if MerkleLeaf(data) == left {
		t.Fatal("leaf and node hashes are not separated")
	}
}

func TestMerkleRejects(t *testing.T) {
	if _, err := NewMerkleTree(nil); err == nil {
		t.Error("a tree of no leaves was built")
	}
	leaf := MerkleLeaf([]byte("a"))
	for _, c := range []struct {
		index, size int
		path        [][]byte
	}{
		{0, 0, nil}, {1, 1, nil}, {-1, 2, nil}, {0, 2, [][]byte{bytes.Repeat([]byte{1}, 31)}},
		{0, 2, make([][]byte, MaxBatchPath+1)},
	} {
		if _, err := MerkleRootFromPath(leaf, c.index, c.size, c.path); err == nil {
			t.Errorf("index %d of %d with %d hashes accepted", c.index, c.size, len(c.path))
		}
	}
}

func clonePath(p [][]byte) [][]byte {
	out := make([][]byte, len(p))
	for i, e := range p {
		out[i] = bytes.Clone(e)
	}
	return out
}
