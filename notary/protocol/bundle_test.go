package protocol

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
)

func testCertPEM(t testing.TB) string {
	t.Helper()
	return string(testcerts.New(t, testcerts.Options{NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(2000000000, 0)},
		"notary.example.org").PEM())
}

func TestBundleRoundTrip(t *testing.T) {
	certPEM := testCertPEM(t)
	pubDER, _ := x509.MarshalPKIXPublicKey(loadPub(t, "v2-ecdsa-pub.pem"))
	b := Bundle{Name: "Example Notary", Region: "DE", BundleLocation: "https://notary.example.org/.well-known/convergence.notary",
		Hosts: []BundleHost{{Host: "notary.example.org", SSLPort: 443, HTTPPort: 80, CertificatePEM: certPEM}},
		V2:    &BundleV2{Protocols: []int{1, 2}, KeyType: "rsa-2048", SigningKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))}}
	data, err := MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	// The original client reads these members; check them as plain JSON.
	var plain map[string]any
	if err := json.Unmarshal(data, &plain); err != nil || plain["version"] != 1.0 || plain["name"] != "Example Notary" {
		t.Fatalf("plain JSON view: %v %v", plain, err)
	}
	got, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Name != b.Name || got.Region != "DE" || len(got.Hosts) != 1 || got.Hosts[0].Certificate == nil || !got.SupportsV2() {
		t.Fatalf("round trip: %+v", got)
	}
	k, err := got.V2PublicKey(got.Hosts[0])
	if err != nil || !k.(*ecdsa.PublicKey).Equal(loadPub(t, "v2-ecdsa-pub.pem")) {
		t.Fatalf("V2PublicKey = %v, %v", k, err)
	}
}

func TestBundleV0(t *testing.T) {
	data, _ := json.Marshal(map[string]any{"host": "Notary.Example.org", "ssl_port": 4242, "http_port": 80, "certificate": testCertPEM(t)})
	b, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != 0 || b.Name != "Notary.Example.org" || b.Hosts[0].Host != "notary.example.org" || b.Hosts[0].SSLPort != 4242 || b.SupportsV2() {
		t.Fatalf("%+v", b)
	}
	k, err := b.V2PublicKey(b.Hosts[0])
	if err != nil || k == nil {
		t.Fatalf("V2PublicKey: %v", err)
	}
}

func TestParseBundleRejects(t *testing.T) {
	cert := testCertPEM(t)
	host := func(extra string) string {
		return `{"host":"n.example.org","ssl_port":443,"http_port":80,"certificate":` + jsonString(cert) + extra + `}`
	}
	for name, tc := range map[string]struct{ data, msg string }{
		"not json":       {`{`, "not JSON"},
		"no hosts":       {`{"version":1,"name":"X","hosts":[]}`, "no hosts"},
		"no name":        {`{"version":1,"hosts":[` + host("") + `]}`, "name"},
		"bad version":    {`{"version":3,"name":"X","hosts":[` + host("") + `]}`, "version 3"},
		"empty v0":       {`{}`, "no version and no host"},
		"bad pem":        {`{"version":1,"name":"X","hosts":[{"host":"n.example.org","certificate":"junk"}]}`, "PEM CERTIFICATE"},
		"bad der":        {`{"version":1,"name":"X","hosts":[{"host":"n.example.org","certificate":` + jsonString("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") + `}]}`, "certificate"},
		"bad ssl port":   {`{"version":1,"name":"X","hosts":[{"host":"n.example.org","ssl_port":70000,"certificate":` + jsonString(cert) + `}]}`, "ssl_port"},
		"bad http port":  {`{"version":1,"name":"X","hosts":[{"host":"n.example.org","http_port":-1,"certificate":` + jsonString(cert) + `}]}`, "http_port"},
		"bad region":     {`{"version":1,"name":"X","region":"USA","hosts":[` + host("") + `]}`, "region"},
		"bad location":   {`{"version":1,"name":"X","bundle_location":"http://x/y","hosts":[` + host("") + `]}`, "https URL"},
		"bad host":       {`{"version":1,"name":"X","hosts":[{"host":"a b","certificate":` + jsonString(cert) + `}]}`, "host"},
		"bad signingkey": {`{"version":1,"name":"X","hosts":[` + host("") + `],"convergence_v2":{"protocols":[2],"signing_key":"x"}}`, "signing_key"},
		"oversized":      {`{"version":1,"name":"` + strings.Repeat("x", MaxBundleSize) + `"}`, "limit"},
	} {
		_, err := ParseBundle([]byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want mention of %q", name, err, tc.msg)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err %v wraps no sentinel", name, err)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{"version":1,"name":"X","hosts":[{"host":"a.example"}]}`))
	f.Add([]byte(`{"host":"a.example","certificate":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		if len(b.Hosts) == 0 || b.Hosts[0].Certificate == nil {
			t.Fatalf("accepted bundle without a usable host: %+v", b)
		}
	})
}
