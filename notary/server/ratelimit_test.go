package server

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := newLimiter(1, 2, 3)
	now := time.Unix(1700000000, 0)
	a := netip.MustParseAddr("192.0.2.1")
	first, second, third := l.allow(a, now), l.allow(a, now), l.allow(a, now)
	if !first || !second || third {
		t.Fatal("burst of 2 not enforced")
	}
	if !l.allow(a, now.Add(time.Second)) {
		t.Fatal("token not refilled after a second")
	}
	// Two addresses in one IPv6 /64 share a bucket.
	b1, b2 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	if !l.allow(b1, now) || !l.allow(b2, now) || l.allow(b1, now) {
		t.Fatal("IPv6 /64 not grouped")
	}
	for i := range 10 {
		l.allow(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), now)
	}
	if l.size() != 3 {
		t.Fatalf("tracked %d clients, bound is 3", l.size())
	}
}
