package protocol

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"regexp"
	"testing"
)

// docVectors reads the test-vector blocks from docs/PROTOCOL.md, so the document and the
// tests cannot drift apart.
func docVectors(t *testing.T) map[string][]byte {
	t.Helper()
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatalf("read PROTOCOL.md: %v", err)
	}
	re := regexp.MustCompile("(?s)<!-- vector:([a-z0-9-]+) -->\n```text\n(.*?)\n```")
	out := map[string][]byte{}
	for _, m := range re.FindAllSubmatch(doc, -1) {
		out[string(m[1])] = m[2]
	}
	for _, name := range []string{"v1-unsigned", "v1-body", "v2-canonical", "v2-body-ed25519", "v2-body-ecdsa"} {
		if len(out[name]) == 0 {
			t.Fatalf("vector %q missing from PROTOCOL.md", name)
		}
	}
	return out
}

func loadKey(t *testing.T, name string) crypto.Signer {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

func loadPub(t *testing.T, name string) crypto.PublicKey {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The inputs the documented vectors were made from (see PROTOCOL.md).
var vectorV1Entries = []V1Entry{
	{Fingerprint: "1F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00:0F:1E:2D:3C", Start: 1200000000, Finish: 1299999999},
	{Fingerprint: "d4:3a:94:e4:82:e5:c1:00:83:c5:0f:7e:27:8a:0f:6a:e1:a7:90:3f", Start: 1300000000, Finish: 1700000000},
}

func vectorV2Answer() V2Answer {
	return V2Answer{
		Nonce:  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		Time:   1764000000,
		Target: V2Target{Host: "www.example.com", Port: 443},
		SHA256: "5f6d3f7a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6",
		Window: 3600,
		Observations: []V2Observation{
			{SHA256: "5f6d3f7a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6", FirstSeen: 1763990000, LastSeen: 1763999990},
			{SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", FirstSeen: 1700000000, LastSeen: 1763000000},
		},
		Checks: []V2Check{
			{Name: CheckNetwork, Verdict: VerdictAgree, Deciding: true, Detail: "seen 10s ago"},
			{Name: CheckCA, Verdict: VerdictDisagree, Detail: "x509: certificate signed by unknown authority (\"Café <CA>\")\n"},
			{Name: CheckDANE, Verdict: VerdictNoOpinion, Detail: "no validating resolver configured"},
		},
		Status: StatusConfirmed,
	}
}

func TestV1VectorVerifies(t *testing.T) {
	v := docVectors(t)
	a, err := VerifyV1(v["v1-body"], loadPub(t, "v1-rsa-pub.pem"))
	if err != nil {
		t.Fatalf("documented v1 vector does not verify: %v", err)
	}
	if len(a.Fingerprints) != 2 || a.Fingerprints[0].Finish != 1700000000 || !a.Has(vectorV1Entries[1].Fingerprint) {
		t.Fatalf("parsed %+v", a.Fingerprints)
	}
	cut, err := V1SignedBytes(v["v1-body"])
	if err != nil || !bytes.Equal(cut, v["v1-unsigned"]) {
		t.Fatalf("V1SignedBytes = %q, %v; want the documented signed bytes", cut, err)
	}
}

func TestV1VectorProduced(t *testing.T) {
	v := docVectors(t)
	unsigned := append([]V1Entry(nil), vectorV1Entries...)
	SortV1Entries(unsigned)
	for i := range unsigned {
		unsigned[i].Fingerprint, _ = NormalizeSHA1Fingerprint(unsigned[i].Fingerprint)
	}
	got, err := MarshalV1Unsigned(unsigned)
	if err != nil || !bytes.Equal(got, v["v1-unsigned"]) {
		t.Fatalf("MarshalV1Unsigned =\n%s\nwant\n%s (%v)", got, v["v1-unsigned"], err)
	}
	body, err := SignV1(vectorV1Entries, loadKey(t, "v1-rsa-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, v["v1-body"]) {
		t.Fatalf("SignV1 =\n%s\nwant\n%s", body, v["v1-body"])
	}
}

func TestV2VectorsVerify(t *testing.T) {
	v := docVectors(t)
	for _, tc := range []struct{ body, pub string }{
		{"v2-body-ed25519", "v2-ed25519-pub.pem"},
		{"v2-body-ecdsa", "v2-ecdsa-pub.pem"},
	} {
		a, err := VerifyV2(v[tc.body], loadPub(t, tc.pub))
		if err != nil {
			t.Fatalf("%s does not verify: %v", tc.body, err)
		}
		want := vectorV2Answer()
		req := V2Request{Host: want.Target.Host, Port: want.Target.Port, SHA256: want.SHA256, Nonce: want.Nonce}
		if err := a.Answers(req); err != nil {
			t.Fatal(err)
		}
		if a.Status != StatusConfirmed || len(a.Observations) != 2 || a.Checks[1].Detail != want.Checks[1].Detail {
			t.Fatalf("%s parsed as %+v", tc.body, a)
		}
		canon, err := Canonicalize(v[tc.body], "signature")
		if err != nil || !bytes.Equal(canon, v["v2-canonical"]) {
			t.Fatalf("Canonicalize(%s) = %s, %v", tc.body, canon, err)
		}
		// A different key must not verify it.
		if _, err := VerifyV2(v[tc.body], loadKey(t, "v2-ecdsa-key.pem").Public()); tc.pub != "v2-ecdsa-pub.pem" && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("wrong key: err = %v, want ErrBadSignature", err)
		}
	}
}

func TestV2VectorsProduced(t *testing.T) {
	v := docVectors(t)
	body, err := SignV2(vectorV2Answer(), loadKey(t, "v2-ed25519-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, v["v2-body-ed25519"]) {
		t.Fatalf("SignV2(ed25519) =\n%s\nwant\n%s", body, v["v2-body-ed25519"])
	}
	body, err = SignV2(vectorV2Answer(), loadKey(t, "v2-ecdsa-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(body, v["v2-canonical"][:len(v["v2-canonical"])-1]) {
		t.Fatalf("SignV2(ecdsa) does not start with the canonical bytes:\n%s", body)
	}
	if _, err := VerifyV2(body, loadPub(t, "v2-ecdsa-pub.pem")); err != nil {
		t.Fatal(err)
	}
}
