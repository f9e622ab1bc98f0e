package directory

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"testing"
)

// docVectors reads the directory vectors from docs/PROTOCOL.md, so the document and
// the code cannot drift apart.
func docVectors(t *testing.T) (seed []byte, key PublicKey, file []byte) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatalf("failed to read PROTOCOL.md: %v", err)
	}
	re := regexp.MustCompile("(?s)<!-- vector:(directory-[a-z]+) -->\n```text\n(.*?)\n```")
	v := map[string][]byte{}
	for _, m := range re.FindAllSubmatch(doc, -1) {
		v[string(m[1])] = m[2]
	}
	for _, name := range []string{"directory-seed", "directory-key", "directory-file"} {
		if len(v[name]) == 0 {
			t.Fatalf("vector %q missing from PROTOCOL.md", name)
		}
	}
	if seed, err = hex.DecodeString(string(v["directory-seed"])); err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("seed vector: %v (%d bytes)", err, len(seed))
	}
	if key, err = ParsePublicKey(string(v["directory-key"])); err != nil {
		t.Fatal(err)
	}
	return seed, key, append(v["directory-file"], '\n') // the block ends before the body's last newline
}

func TestDocVector(t *testing.T) {
	seed, key, file := docVectors(t)
	priv := ed25519.NewKeyFromSeed(seed)
	if got := PublicKey(priv.Public().(ed25519.PublicKey)); !bytes.Equal(got, key) {
		t.Fatalf("the seed's public key is %s, the document says %s", got, key)
	}
	d, by, err := Open(file, []PublicKey{key})
	if err != nil {
		t.Fatalf("the document's vector does not open: %v", err)
	}
	if !bytes.Equal(by, key) || d.Name != "Example directory" || len(d.Entries) != 1 {
		t.Fatalf("opened %+v by %s", d, by)
	}
	e := d.Entries[0]
	if e.Name() != "Example Notary" || e.Operator != "Example e.V." || e.Country != "DE" || e.Network != "AS64500" ||
		e.Contact != "mailto:notary@example.org" || e.Listed != "2026-11-01" || len(e.Protocols) != 2 {
		t.Fatalf("entry %+v", e)
	}
	// Signing the body again gives the same bytes (Ed25519 is deterministic), and
	// marshalling the parsed directory gives the same body.
	_, body, _ := bytes.Cut(file, []byte("\n\n"))
	again, err := Sign(body, priv)
	if err != nil || !bytes.Equal(again, file) {
		t.Fatalf("signing the vector's body again: %v\n%s", err, again)
	}
	remarshalled, err := MarshalBody(d)
	if err != nil || !bytes.Equal(remarshalled, body) {
		t.Fatalf("marshalling the parsed vector: %v\n%s", err, remarshalled)
	}
}

// TestTamperedRefused changes the vector's bytes in every way that matters: each one
// must fail the signature, and nothing of the body is read.
func TestTamperedRefused(t *testing.T) {
	_, key, file := docVectors(t)
	other, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"country changed":     bytes.Replace(file, []byte(`"country": "DE"`), []byte(`"country": "FR"`), 1),
		"space added to body": bytes.Replace(file, []byte(`"version": 1,`), []byte(`"version":  1,`), 1),
		"newline dropped":     file[:len(file)-1],
		"byte appended":       append(bytes.Clone(file), ' '),
	}
	for name, f := range cases {
		if bytes.Equal(f, file) {
			t.Fatalf("%s: the case changes nothing", name)
		}
		if _, _, err := Open(f, []PublicKey{key}); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: Open = %v, want ErrBadSignature", name, err)
		}
	}
	if _, _, err := Open(file, []PublicKey{other}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: Open = %v, want ErrBadSignature", err)
	}
	if _, _, err := Open(file, nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: Open = %v, want ErrNoKey", err)
	}
	if _, _, err := Open([]byte("not a directory\n"), []PublicKey{key}); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage: Open = %v, want ErrMalformed", err)
	}
	if _, _, err := Open(file, []PublicKey{other, key}); err != nil {
		t.Errorf("the right key among others: %v", err)
	}
}
