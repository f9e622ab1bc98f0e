package protocol

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// canonViaJSON is the reference the direct renderer must equal: the canonical form of
// json.Marshal of the answer.
func canonViaJSON(t testing.TB, a V2Answer) []byte {
	t.Helper()
	a.Version = 2
	if a.Observations == nil {
		a.Observations = []V2Observation{}
	}
	if a.Checks == nil {
		a.Checks = []V2Check{}
	}
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := Canonicalize(raw)
	if err != nil {
		t.Fatal(err)
	}
	return canon
}

// awkwardStrings are what check details (error texts) can hold: escapes, controls,
// non-ASCII, invalid UTF-8 alone and in runs, HTML characters, U+2028.
var awkwardStrings = []string{
	"", "plain", `quote " and \ backslash`, "tab\tnl\ncr\rff\fbs\b", "\x00\x01\x1f\x7f",
	"Café <CA> & co", "\u2028\u2029", "bad \xff byte", "run \xff\xfe\xfd of bad", "cut \xe2\x82",
	"emoji 🔒", `\"nonce\":\"\"`, `","observations":[`,
}

// TestPrepareV2MatchesCanonicalize holds the direct renderer to Canonicalize(json.Marshal)
// over the vector answer and random answers built from awkward strings, for several
// nonces and times.
func TestPrepareV2MatchesCanonicalize(t *testing.T) {
	key := fuzzKey(t, "v2-ed25519-key.pem")
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return awkwardStrings[r.IntN(len(awkwardStrings))] }
	answers := []V2Answer{vectorV2Answer(), {}}
	for range 300 {
		a := V2Answer{Target: V2Target{Host: pick(), Port: r.IntN(65536)}, SHA256: pick(), Window: r.Int64N(1 << 40),
			Status: Status(pick())}
		for range r.IntN(4) {
			a.Checks = append(a.Checks, V2Check{Name: pick(), Verdict: Verdict(pick()), Deciding: r.IntN(2) == 0, Detail: pick()})
		}
		for range r.IntN(4) {
			a.Observations = append(a.Observations, V2Observation{SHA256: pick(), FirstSeen: r.Int64N(1<<53) - 1<<52, LastSeen: r.Int64N(1 << 40)})
		}
		answers = append(answers, a)
	}
	for i, a := range answers {
		p, err := PrepareV2(a, key.Public())
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		for _, nt := range []struct {
			nonce string
			time  int64
		}{{a.Nonce, a.Time}, {"00ff", 0}, {pick(), -5}, {"ab", 1<<53 - 1}} {
			a.Nonce, a.Time = nt.nonce, nt.time
			got, err := p.Canonical(a.Nonce, a.Time)
			if err != nil {
				t.Fatalf("answer %d: %v", i, err)
			}
			if want := canonViaJSON(t, a); !bytes.Equal(got, want) {
				t.Fatalf("answer %d:\ngot  %s\nwant %s", i, got, want)
			}
			body, err := p.Sign(a.Nonce, a.Time, key)
			if err != nil {
				t.Fatal(err)
			}
			back, err := VerifyV2(body, key.Public())
			if err != nil {
				t.Fatalf("answer %d does not verify: %v\n%s", i, err, body)
			}
			if back.Nonce != toValid(a.Nonce) || back.Time != a.Time {
				t.Fatalf("answer %d: nonce %q time %d, signed %q %d", i, back.Nonce, back.Time, a.Nonce, a.Time)
			}
		}
	}
}

// toValid is json.Marshal's treatment of invalid UTF-8 (each bad byte to U+FFFD).
func toValid(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

func TestPrepareV2RejectsWhatCanonicalizeRejects(t *testing.T) {
	key := fuzzKey(t, "v2-ecdsa-key.pem")
	if _, err := PrepareV2(V2Answer{Window: 1 << 53}, key.Public()); err == nil {
		t.Error("a window of 2^53 was rendered")
	}
	p, err := PrepareV2(V2Answer{}, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sign("00", -(1 << 53), key); err == nil {
		t.Error("a time of -2^53 was signed")
	}
	if _, err := PrepareV2(V2Answer{}, fuzzKey(t, "v1-rsa-key.pem").Public()); err == nil {
		t.Error("an RSA key was accepted for v2")
	}
}

// FuzzPrepareV2 holds the renderer to Canonicalize(json.Marshal) for arbitrary strings.
func FuzzPrepareV2(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s, s, int64(3600))
	}
	key := fuzzKey(f, "v2-ed25519-key.pem")
	f.Fuzz(func(t *testing.T, detail, host string, n int64) {
		a := V2Answer{Target: V2Target{Host: host, Port: 443}, Window: n, Nonce: detail,
			Checks: []V2Check{{Name: CheckNetwork, Verdict: VerdictAgree, Detail: detail}}}
		p, err := PrepareV2(a, key.Public())
		if n >= 1<<53 || n <= -(1<<53) {
			if err == nil {
				t.Fatalf("window %d rendered", n)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Canonical(a.Nonce, a.Time)
		if err != nil {
			t.Fatal(err)
		}
		if want := canonViaJSON(t, a); !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}
