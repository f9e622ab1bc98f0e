package protocol

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func testSigners(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"rsa": loadKey(t, "v1-rsa-key.pem"), "ecdsa": ec, "ed25519": ed}
}

func TestV1RoundTripAndTamper(t *testing.T) {
	fp := SHA1Fingerprint([]byte("leaf"))
	for name, key := range testSigners(t) {
		body, err := SignV1([]V1Entry{{Fingerprint: fp, Start: 1, Finish: 2}}, key)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := VerifyV1(body, key.Public()); err != nil {
			t.Fatalf("%s: own answer does not verify: %v", name, err)
		}
		tampered := bytes.Replace(body, []byte(`"finish": "2"`), []byte(`"finish": "3"`), 1)
		if _, err := VerifyV1(tampered, key.Public()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: tampered answer: err = %v, want ErrBadSignature", name, err)
		}
	}
}

// A notary that prints the signature member first (and other spacing) still verifies:
// the cut keeps the received bytes, the fallback re-serialises.
func TestV1SignatureFirstAndRespaced(t *testing.T) {
	key := loadKey(t, "v1-rsa-key.pem")
	body, err := SignV1([]V1Entry{{Fingerprint: SHA1Fingerprint([]byte("x")), Start: 5, Finish: 9}}, key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseV1(body)
	if err != nil {
		t.Fatal(err)
	}
	sigMember := body[bytes.Index(body, []byte(`"signature"`)) : len(body)-1]
	list := body[1:bytes.Index(body, []byte(`, "signature"`))]
	first := []byte("{" + string(sigMember) + ", " + string(list) + "}")
	if cut, err := V1SignedBytes(first); err != nil || string(cut) != "{"+string(list)+"}" {
		t.Fatalf("cut of signature-first body = %q, %v", cut, err)
	}
	if _, err := VerifyV1(first, key.Public()); err != nil {
		t.Fatalf("signature-first body: %v", err)
	}
	compact := []byte(strings.NewReplacer(": ", ":", ", ", ",").Replace(string(body)))
	if b, err := VerifyV1(compact, key.Public()); err != nil || b.Fingerprints[0] != a.Fingerprints[0] {
		t.Fatalf("re-spaced body: %v", err)
	}
}

func TestParseV1Rejects(t *testing.T) {
	for name, body := range map[string]string{
		"not json":      `{"fingerprintList": [`,
		"no list":       `{"signature": "AA=="}`,
		"no signature":  `{"fingerprintList": []}`,
		"bad fp":        `{"fingerprintList": [{"timestamp": {"start": "1", "finish": "2"}, "fingerprint": "AB"}], "signature": ""}`,
		"bad timestamp": `{"fingerprintList": [{"timestamp": {"start": "x", "finish": "2"}, "fingerprint": "` + SHA1Fingerprint(nil) + `"}], "signature": ""}`,
		"bad base64":    `{"fingerprintList": [], "signature": "!!"}`,
		"too large":     `{"fingerprintList": [], "signature": "` + strings.Repeat("A", MaxV1AnswerSize) + `"}`,
		"trailing data": `{"fingerprintList": [], "signature": ""} {}`,
	} {
		_, err := ParseV1([]byte(body))
		if err == nil {
			_, err = V1SignedBytes([]byte(body))
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseV1([]byte(`{"fingerprintList": [], "signature": "` + strings.Repeat("A", MaxV1AnswerSize) + `"}`)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: err = %v, want ErrTooLarge", err)
	}
}

func TestV2RoundTripTamperAndMismatch(t *testing.T) {
	signers := testSigners(t)
	if _, err := SignV2(vectorV2Answer(), signers["rsa"]); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("RSA v2: err = %v, want ErrUnsupportedKey", err)
	}
	for _, name := range []string{"ecdsa", "ed25519"} {
		key := signers[name]
		req, err := NewV2Request("WWW.Example.com.", 443, strings.ToUpper(vectorV2Answer().SHA256))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := req.Marshal()
		parsed, err := ParseV2Request(raw)
		if err != nil || parsed != req {
			t.Fatalf("request round trip: %+v %v", parsed, err)
		}
		a := vectorV2Answer()
		a.Nonce = req.Nonce
		body, err := SignV2(a, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := VerifyV2(body, key.Public())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := got.Answers(req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		other, _ := NewV2Request("www.example.com", 443, a.SHA256)
		if err := got.Answers(other); !errors.Is(err, ErrMismatch) {
			t.Fatalf("%s: other nonce: err = %v", name, err)
		}
		tampered := bytes.Replace(body, []byte(`"status":"confirmed"`), []byte(`"status":"mismatch"`), 1)
		if _, err := VerifyV2(tampered, key.Public()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: tampered: err = %v", name, err)
		}
		added := bytes.Replace(body, []byte(`{"checks"`), []byte(`{"extra":1,"checks"`), 1)
		if _, err := VerifyV2(added, key.Public()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: added member: err = %v", name, err)
		}
	}
}

func TestParseV2RequestRejects(t *testing.T) {
	nonce := strings.Repeat("ab", 32)
	for name, body := range map[string]string{
		"short nonce":   `{"host":"a.example","port":443,"nonce":"abcd"}`,
		"upper nonce":   `{"host":"a.example","port":443,"nonce":"` + strings.ToUpper(nonce) + `"}`,
		"bad port":      `{"host":"a.example","port":0,"nonce":"` + nonce + `"}`,
		"bad host":      `{"host":"a b","port":443,"nonce":"` + nonce + `"}`,
		"bad sha256":    `{"host":"a.example","port":443,"sha256":"zz","nonce":"` + nonce + `"}`,
		"unknown field": `{"host":"a.example","port":443,"nonce":"` + nonce + `","x":1}`,
		"too large":     `{"host":"` + strings.Repeat("a", MaxV2RequestSize) + `"}`,
	} {
		if _, err := ParseV2Request([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCanonicalize(t *testing.T) {
	for in, want := range map[string]string{
		`{ "b" : [1, true, null], "a": "x\u00e9\u2028<>&\u0001\t" }`: "{\"a\":\"x\u00e9\u2028<>&\\u0001\\t\",\"b\":[1,true,null]}",
		`{"signature": {"x": 1}, "z": {"d": 1, "c": -2}}`:            `{"z":{"c":-2,"d":1}}`,
	} {
		got, err := Canonicalize([]byte(in), "signature")
		if err != nil || string(got) != want {
			t.Errorf("Canonicalize(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{`{"a":1.5}`, `{"a":1e3}`, `{"a":-0}`, `{"a":1,"a":2}`, `[1]`, `{"a":9007199254740993}`, "{\"a\":\"\xff\"}", `{"a":1}x`} {
		if got, err := Canonicalize([]byte(bad)); err == nil {
			t.Errorf("Canonicalize(%s) = %s, want error", bad, got)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	f.Add([]byte(`{"b":[1,{"c":"\n"}],"a":null}`))
	f.Add([]byte(`{"a":1.5}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("canonical form not stable: %s -> %s (%v)", out, again, err)
		}
	})
}

func TestOverallStatus(t *testing.T) {
	c := func(name string, v Verdict, deciding bool) V2Check {
		return V2Check{Name: name, Verdict: v, Deciding: deciding}
	}
	for _, tc := range []struct {
		checks []V2Check
		asked  bool
		want   Status
	}{
		{[]V2Check{c(CheckNetwork, VerdictAgree, true)}, false, StatusInconclusive},
		{[]V2Check{c(CheckNetwork, VerdictAgree, true)}, true, StatusConfirmed},
		{[]V2Check{c(CheckNetwork, VerdictAgree, true), c(CheckCA, VerdictDisagree, false)}, true, StatusConfirmed},
		{[]V2Check{c(CheckNetwork, VerdictAgree, true), c(CheckCA, VerdictDisagree, true)}, true, StatusMismatch},
		{[]V2Check{c(CheckNetwork, VerdictError, true)}, true, StatusUnreachable},
		{[]V2Check{c(CheckNetwork, VerdictError, true), c(CheckDANE, VerdictAgree, true)}, true, StatusInconclusive},
		{[]V2Check{c(CheckNetwork, VerdictAgree, true), c(CheckDANE, VerdictNoOpinion, true)}, true, StatusConfirmed},
		{[]V2Check{c(CheckDANE, VerdictNoOpinion, true)}, true, StatusInconclusive},
		{nil, true, StatusInconclusive},
	} {
		if got := OverallStatus(tc.checks, tc.asked); got != tc.want {
			t.Errorf("OverallStatus(%+v, %v) = %s, want %s", tc.checks, tc.asked, got, tc.want)
		}
	}
}

func TestV1Path(t *testing.T) {
	for in, want := range map[string]string{
		"/target/Example.COM.+443":  "example.com:443",
		"/target/::1+8443":          "::1:8443",
		"/target/[2001:db8::1]+443": "2001:db8::1:443",
	} {
		h, p, err := ParseV1Path(in)
		if err != nil || h+":"+strconv.Itoa(p) != want {
			t.Errorf("ParseV1Path(%q) = %q %d %v", in, h, p, err)
		}
	}
	for _, bad := range []string{"/target/", "/target/example.com", "/target/example.com+0", "/target/example.com+x", "/other/a+1", "/target/a%b+443", "/target/fe80::1%eth0+443"} {
		if _, _, err := ParseV1Path(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseV1Path(%q): err = %v", bad, err)
		}
	}
	if V1Path("example.com", 443) != "/target/example.com+443" {
		t.Error(V1Path("example.com", 443))
	}
}

func TestFingerprints(t *testing.T) {
	fp := SHA1Fingerprint([]byte("abc"))
	if fp != "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D" {
		t.Fatalf("SHA1Fingerprint = %s", fp)
	}
	if n, err := NormalizeSHA1Fingerprint(strings.ToLower(fp)); err != nil || n != fp {
		t.Fatalf("normalize: %s %v", n, err)
	}
	if SHA256Fingerprint([]byte("abc")) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatal(SHA256Fingerprint([]byte("abc")))
	}
	for _, bad := range []string{"", "A9-99", strings.Replace(fp, ":", "-", 1), strings.Replace(fp, "A", "G", 1)} {
		if _, err := NormalizeSHA1Fingerprint(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
