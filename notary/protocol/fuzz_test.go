package protocol

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets here feed what a notary or another user could send us (answers,
// bundles, requests, paths) to the parsers. Each must never panic, and a verifier must
// never accept a body whose meaning differs from what the key actually signed.
// scripts/fuzz.sh runs each for a set time; crashers found become seeds in
// testdata/fuzz/<FuzzName>/ and stay.

// fuzzKey reads a PKCS#8 private key from testdata.
func fuzzKey(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return k.(crypto.Signer)
}

// fuzzKeys are the notary keys of the fuzz targets: one per algorithm.
func fuzzKeys(tb testing.TB) []crypto.Signer {
	return []crypto.Signer{fuzzKey(tb, "v1-rsa-key.pem"), fuzzKey(tb, "v2-ecdsa-key.pem"), fuzzKey(tb, "v2-ed25519-key.pem")}
}

// fuzzV1Lists are the entry lists the v1 fuzz target signs: the only meanings a
// verified v1 body may carry.
func fuzzV1Lists() [][]V1Entry {
	return [][]V1Entry{
		vectorV1Entries,
		{},
		{{Fingerprint: strings.Repeat("AB:", 19) + "CD", Start: -5, Finish: 1 << 40}},
	}
}

// FuzzVerifyV1 mutates signed v1 bodies. Parsing, cutting and verifying must not
// panic, and an accepted body must mean exactly one of the signed entry lists.
func FuzzVerifyV1(f *testing.F) {
	keys := fuzzKeys(f)
	var signed [][]byte // the unsigned texts the keys signed
	for _, list := range fuzzV1Lists() {
		sorted := append([]V1Entry(nil), list...)
		SortV1Entries(sorted)
		for i := range sorted {
			sorted[i].Fingerprint, _ = NormalizeSHA1Fingerprint(sorted[i].Fingerprint)
		}
		unsigned, err := MarshalV1Unsigned(sorted)
		if err != nil {
			f.Fatal(err)
		}
		signed = append(signed, unsigned)
		for _, k := range keys {
			body, err := SignV1(list, k)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(body)
		}
	}
	f.Add([]byte(`{"signature": "AAAA", "fingerprintList": []}`))
	f.Add([]byte(`{"fingerprintList": [{"timestamp": {"start": 1, "finish": "2"}, "fingerprint": "x"}], "signature": "=="}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = ParseV1(body)
		_, _ = V1SignedBytes(body)
		for _, k := range keys {
			a, err := VerifyV1(body, k.Public())
			if err != nil {
				continue
			}
			re, err := MarshalV1Unsigned(a.Fingerprints)
			if err != nil {
				t.Fatalf("accepted body whose entries cannot be re-serialised: %v\n%q", err, body)
			}
			sorted := append([]V1Entry(nil), a.Fingerprints...)
			SortV1Entries(sorted)
			resorted, _ := MarshalV1Unsigned(sorted)
			ok := false
			for _, s := range signed {
				ok = ok || bytes.Equal(re, s) || bytes.Equal(resorted, s)
			}
			if !ok {
				t.Fatalf("accepted a body that means something no key signed:\n%q\nmeans %s", body, re)
			}
		}
	})
}

// fuzzV2Answers are the answers the v2 fuzz target signs.
func fuzzV2Answers() []V2Answer {
	other := vectorV2Answer()
	other.Target = V2Target{Host: "::1", Port: 8443}
	other.Status = StatusMismatch
	other.Checks = nil
	other.Observations = nil
	return []V2Answer{vectorV2Answer(), other}
}

// v2Meaning is the canonical JSON of an answer's content, without its signature.
func v2Meaning(tb testing.TB, a V2Answer) []byte {
	tb.Helper()
	a.Signature = V2Signature{}
	if a.Observations == nil {
		a.Observations = []V2Observation{}
	}
	if a.Checks == nil {
		a.Checks = []V2Check{}
	}
	raw, err := json.Marshal(a)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := Canonicalize(raw)
	if err != nil {
		tb.Fatalf("canonicalize %s: %v", raw, err)
	}
	return c
}

// FuzzVerifyV2 mutates signed v2 bodies. Nothing may panic; an accepted body must
// mean exactly one of the signed answers and be bound to that answer's request.
func FuzzVerifyV2(f *testing.F) {
	keys := fuzzKeys(f)[1:] // v2 signs with ECDSA P-256 and Ed25519 only
	var meanings [][]byte
	for _, a := range fuzzV2Answers() {
		a.Version = 2
		meanings = append(meanings, v2Meaning(f, a))
		for _, k := range keys {
			body, err := SignV2(a, k)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(body)
		}
	}
	// Batch-signed bodies (SignV2Batch): the fuzz answers in one batch per key.
	for _, k := range keys {
		var canons [][]byte
		var alg string
		for _, a := range fuzzV2Answers() {
			p, err := PrepareV2(a, k.Public())
			if err != nil {
				f.Fatal(err)
			}
			c, err := p.Canonical(a.Nonce, a.Time)
			if err != nil {
				f.Fatal(err)
			}
			canons, alg = append(canons, c), p.Alg()
		}
		bodies, err := SignV2Batch(canons, alg, k)
		if err != nil {
			f.Fatal(err)
		}
		for _, b := range bodies {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":2,"signature":{"alg":"ed25519","value":""}}`))
	f.Add([]byte(`{"version":2,"signature":{"alg":"ed25519","value":"","batch":{"index":0,"size":1,"path":[]}}}`))
	f.Add([]byte(`{"version":2,"signature":null,"checks":[{"name":"network"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if a, err := ParseV2Answer(body); err == nil {
			_ = OverallStatus(a.Checks, a.SHA256 != "")
		}
		for _, k := range keys {
			a, err := VerifyV2(body, k.Public())
			if err != nil {
				continue
			}
			got := v2Meaning(t, a)
			ok := false
			for _, m := range meanings {
				ok = ok || bytes.Equal(got, m)
			}
			if !ok {
				t.Fatalf("accepted a body that means something no key signed:\n%q\nmeans %s", body, got)
			}
		}
	})
}

// FuzzParseV2Request checks that an accepted request is canonical: marshalling and
// parsing it again gives the same request.
func FuzzParseV2Request(f *testing.F) {
	r, err := NewV2Request("www.example.com", 443, strings.Repeat("ab", 32))
	if err != nil {
		f.Fatal(err)
	}
	raw, _ := r.Marshal()
	f.Add(raw)
	f.Add([]byte(`{"host":"[::1]","port":8443,"nonce":"` + strings.Repeat("00", 16) + `"}`))
	f.Add([]byte(`{"host":"A.Example.","port":1,"sha256":"AB:CD","nonce":"xyz","extra":1}`))
	f.Add([]byte(`{"host":"a.example","port":0443,"nonce":"00"}`))
	f.Add([]byte(`{"host":"a.example","port":443,"nonce":"00"} `))
	f.Fuzz(func(t *testing.T, body []byte) {
		// The fast decoder, where it accepts, agrees with encoding/json.
		if fast, ok := decodeV2RequestFast(body); ok {
			slow, err := decodeV2Request(body)
			if err != nil || fast != slow {
				t.Fatalf("fast decoder read %q as %+v; encoding/json: %+v, %v", body, fast, slow, err)
			}
		}
		req, err := ParseV2Request(body)
		if err != nil {
			return
		}
		again, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		req2, err := ParseV2Request(again)
		if err != nil || !reflect.DeepEqual(req, req2) {
			t.Fatalf("accepted request %q is not canonical: %+v -> %s -> %+v, %v", body, req, again, req2, err)
		}
	})
}

// FuzzParseV1Path checks the v1 path /target/<host>+<port>: no panic, and an accepted
// path names a canonical host whose own path parses back to it.
func FuzzParseV1Path(f *testing.F) {
	for _, s := range []string{"/target/www.example.com+443", "/target/::1+8443", "/target/[::1]+1",
		"/target/a+b+443", "/target/+443", "/target/x+0", "/target/x+-1", "/target/xn--d1acufc.xn--p1ai+443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		host, port, err := ParseV1Path(path)
		if err != nil {
			return
		}
		if CheckPort(port) != nil {
			t.Fatalf("%q: accepted port %d", path, port)
		}
		if h, err := NormalizeHost(host); err != nil || h != host {
			t.Fatalf("%q: host %q is not canonical (%q, %v)", path, host, h, err)
		}
		h2, p2, err := ParseV1Path(V1Path(host, port))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("%q: round trip gave %q %d %v", path, h2, p2, err)
		}
	})
}

// FuzzBundleRoundTrip checks that an accepted bundle survives MarshalBundle and
// ParseBundle with the same meaning.
func FuzzBundleRoundTrip(f *testing.F) {
	cert := testCertPEM(f)
	pub, _ := os.ReadFile("testdata/v2-ecdsa-pub.pem")
	f.Add([]byte(`{"version":1,"name":"Example","region":"de","bundle_location":"https://n.example/x.notary",` +
		`"hosts":[{"host":"N.Example.","ssl_port":4242,"http_port":0,"certificate":` + jsonString(cert) + `}],` +
		`"convergence_v2":{"protocols":[1,2],"key_type":"rsa-2048","signing_key":` + jsonString(string(pub)) + `}}`))
	f.Add([]byte(`{"host":"notary.example.org","ssl_port":443,"http_port":80,"certificate":` + jsonString(cert) + `}`))
	f.Add([]byte(`{"version":1,"name":"two","hosts":[{"host":"::1","certificate":` + jsonString(cert) + `},{"host":"10.0.0.1","certificate":` + jsonString(cert) + `}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		if b.Version == 0 {
			b.Version = 1 // MarshalBundle writes v1
		}
		out, err := MarshalBundle(b)
		if err != nil {
			t.Fatalf("accepted bundle does not marshal: %v\n%q", err, data)
		}
		b2, err := ParseBundle(out)
		if err != nil {
			t.Fatalf("marshalled bundle does not parse: %v\n%s", err, out)
		}
		if b2.Name != b.Name || b2.Region != b.Region || b2.BundleLocation != b.BundleLocation ||
			len(b2.Hosts) != len(b.Hosts) || !reflect.DeepEqual(b2.V2, b.V2) {
			t.Fatalf("round trip changed the bundle:\n%+v\n%+v", b, b2)
		}
		for i := range b.Hosts {
			h, h2 := b.Hosts[i], b2.Hosts[i]
			if h.Host != h2.Host || h.SSLPort != h2.SSLPort || h.HTTPPort != h2.HTTPPort || !h.Certificate.Equal(h2.Certificate) {
				t.Fatalf("round trip changed host %d: %+v -> %+v", i, h, h2)
			}
		}
		if b.SupportsV2() {
			if _, err := b.V2PublicKey(b.Hosts[0]); err != nil {
				t.Logf("v2 bundle without a usable v2 key: %v", err) // allowed: the client falls back to v1
			}
		}
	})
}
