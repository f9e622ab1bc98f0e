package protocol

import (
	"errors"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM.":          "example.com",
		" a.example ":           "a.example",
		"127.0.0.1":             "127.0.0.1",
		"[::1]":                 "::1",
		"0:0::1":                "::1",
		"2001:DB8::1":           "2001:db8::1",
		"::ffff:192.0.2.1":      "::ffff:192.0.2.1",
		"1.2.3":                 "1.2.3", // not an address: a name of digits
		"127.0.0.01":            "127.0.0.01",
		"cafe.de":               "cafe.de", // hex letters and dots: a name
		"xn--bcher-kva.example": "xn--bcher-kva.example",
	} {
		if got, err := NormalizeHost(in); err != nil || got != want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "a..b", "-a.example", "a b", "fe80::1%eth0", "a_b.example:443"} {
		if got, err := NormalizeHost(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("NormalizeHost(%q) = %q, %v; want ErrMalformed", bad, got, err)
		}
	}
}

// A host already canonical is the notary's every query: it costs no allocation.
func TestNormalizeHostCanonicalAllocatesNothing(t *testing.T) {
	for _, h := range []string{"example.com", "127.0.0.1", "2001:db8::1"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeHost(h) }); n != 0 {
			t.Errorf("NormalizeHost(%q): %.0f allocations, want 0", h, n)
		}
	}
}

func TestHostAddr(t *testing.T) {
	for in, want := range map[string]bool{"127.0.0.1": true, "::1": true, "fe80::1%eth0": true, "1.2.3": false, "example.com": false, "cafe": false, "": false} {
		if _, ok := HostAddr(in); ok != want {
			t.Errorf("HostAddr(%q) ok = %v, want %v", in, ok, want)
		}
	}
}
