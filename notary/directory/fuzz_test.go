package directory

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds directory files, mutated from the document's vector, to Open under
// the vector's key. Besides not panicking: a file accepted is the vector itself, byte
// for byte (a signature covers exactly one spelling of one body).
func FuzzOpen(f *testing.F) {
	var t testing.T
	_, key, file := docVectors(&t)
	f.Add(file)
	f.Add(bytes.Replace(file, []byte("signature "), []byte("signature \r"), 1))
	f.Add(bytes.Replace(file, []byte(`"DE"`), []byte(`"FR"`), 1))
	f.Add([]byte(Header + "\nkey 00\nsignature AA==\n\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _, err := Open(data, []PublicKey{key})
		if err != nil {
			return
		}
		if !bytes.Equal(data, file) {
			t.Fatalf("accepted a file other than the one signed:\n%q", data)
		}
		if len(d.Entries) != 1 {
			t.Fatalf("accepted %d entries", len(d.Entries))
		}
	})
}

// FuzzParseBody feeds directory bodies. Besides not panicking: a body accepted
// marshals to a body that parses to the same notaries, facts and bundles.
func FuzzParseBody(f *testing.F) {
	var t testing.T
	_, _, file := docVectors(&t)
	_, body, _ := bytes.Cut(file, []byte("\n\n"))
	f.Add(body)
	f.Add([]byte(`{"version":1,"name":"x","issued":"2026-12-01T00:00:00Z","entries":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseBody(data)
		if err != nil {
			return
		}
		out, err := MarshalBody(d)
		if err != nil {
			t.Fatalf("an accepted body does not marshal: %v", err)
		}
		back, err := ParseBody(out)
		if err != nil || back.Name != d.Name || !back.Issued.Equal(d.Issued) || len(back.Entries) != len(d.Entries) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, d, back)
		}
		for i, e := range d.Entries {
			b := back.Entries[i]
			if b.Name() != e.Name() || b.Operator != e.Operator || b.Country != e.Country || b.Network != e.Network ||
				b.Contact != e.Contact || b.Listed != e.Listed || !bytes.Equal(b.BundleJSON, e.BundleJSON) {
				t.Fatalf("entry %d changed: %+v -> %+v", i, e, b)
			}
		}
	})
}
