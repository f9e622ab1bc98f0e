package probe

import (
	"errors"
	"net/netip"
	"testing"
)

// The addresses here are data only: nothing is dialled.
func TestPolicyCheckAddr(t *testing.T) {
	var p Policy
	for _, s := range []string{
		"127.0.0.1", "127.255.0.9", "::1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "fe80::1", "100.64.0.1", "100.127.255.254", "fd12:3456::1", "fc00::1",
		"224.0.0.1", "ff02::1", "0.0.0.0", "::", "255.255.255.255", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
		"192.0.2.10", "2001:db8::1", "64:ff9b::a00:1", "2002:a00:1::1", "198.18.0.1", "240.0.0.1",
	} {
		if err := p.CheckAddr(netip.MustParseAddr(s)); !errors.Is(err, ErrRefused) {
			t.Errorf("CheckAddr(%s) = %v, want ErrRefused", s, err)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.128.0.1", "172.32.0.1", "2606:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8"} {
		if err := p.CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("CheckAddr(%s) = %v, want nil", s, err)
		}
	}
	allow := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.20.0.0/16")}}
	for _, s := range []string{"127.0.0.1", "::1", "10.20.3.4", "::ffff:127.0.0.1"} {
		if err := allow.CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("with --allow-target: CheckAddr(%s) = %v", s, err)
		}
	}
	if err := allow.CheckAddr(netip.MustParseAddr("10.21.0.1")); !errors.Is(err, ErrRefused) {
		t.Errorf("outside the allowed range: %v", err)
	}
}

func TestPolicyCheckPort(t *testing.T) {
	p := Policy{Ports: []int{4433}}
	for _, ok := range []int{443, 8443, 993, 4433} {
		if err := p.CheckPort(ok); err != nil {
			t.Errorf("CheckPort(%d) = %v", ok, err)
		}
	}
	for _, bad := range []int{22, 25, 80, 6379, 4434} {
		if err := p.CheckPort(bad); !errors.Is(err, ErrRefused) {
			t.Errorf("CheckPort(%d) = %v, want ErrRefused", bad, err)
		}
	}
}
