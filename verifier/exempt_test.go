package verifier

import (
	"net/netip"
	"testing"

	"github.com/convergence-ng/convergence/settings"
)

// TestExemptDecidedByTheAddressDialled: when the address the connection went to is
// known, it alone decides; a name (the SNI a client chose) that says loopback or
// private on a connection to another host must not exempt it (issue 12, door 6).
func TestExemptDecidedByTheAddressDialled(t *testing.T) {
	public := netip.MustParseAddr("198.51.100.20")
	for _, tc := range []struct {
		name    string
		t       Target
		private bool // the exempt-private setting
		want    bool
	}{
		{"localhost name, no address known", Target{Host: "localhost"}, false, true},
		{"name under localhost, no address known", Target{Host: "app.localhost"}, false, true},
		{"loopback literal", Target{Host: "127.0.0.1"}, false, true},
		{"v6 loopback literal", Target{Host: "::1"}, false, true},
		{"mapped loopback literal", Target{Host: "::ffff:127.0.0.1"}, false, true},
		{"public name, no address known", Target{Host: "shop.test"}, false, false},
		{"private literal, setting off", Target{Host: "10.0.0.1"}, false, false},
		{"private literal, setting on", Target{Host: "10.0.0.1"}, true, true},
		{"link-local literal, setting on", Target{Host: "fe80::1"}, true, true},
		{"public literal, setting on", Target{Host: "198.51.100.20"}, true, false},

		{"localhost SNI dialled to a public address", Target{Host: "localhost", Addr: public}, false, false},
		{"name under localhost dialled to a public address", Target{Host: "x.localhost", Addr: public}, false, false},
		{"loopback literal SNI dialled to a public address", Target{Host: "127.0.0.1", Addr: public}, false, false},
		{"private literal SNI dialled to a public address", Target{Host: "10.0.0.1", Addr: public}, true, false},
		{"localhost dialled to loopback", Target{Host: "localhost", Addr: netip.MustParseAddr("127.0.0.1")}, false, true},
		{"name dialled to loopback", Target{Host: "dev.test", Addr: netip.MustParseAddr("::1")}, false, true},
		{"name dialled to a mapped loopback", Target{Host: "dev.test", Addr: netip.MustParseAddr("::ffff:127.0.0.1")}, false, true},
		{"name dialled to a private address, setting off", Target{Host: "nas.test", Addr: netip.MustParseAddr("192.168.1.2")}, false, false},
		{"name dialled to a private address, setting on", Target{Host: "nas.test", Addr: netip.MustParseAddr("192.168.1.2")}, true, true},
		{"public literal dialled to loopback", Target{Host: "198.51.100.20", Addr: netip.MustParseAddr("127.0.0.1")}, false, true},
	} {
		why, got := exempt(tc.t, exemptions{loopback: true, private: tc.private})
		if got != tc.want {
			t.Errorf("%s: exempt(%+v, private %v) = %v (%q), want %v", tc.name, tc.t, tc.private, got, why, tc.want)
		}
		if got && why == "" {
			t.Errorf("%s: exempt with no reason", tc.name)
		}
	}
}

// TestExemptLoopbackOff: with the exempt-loopback setting off (the demo's data dir,
// whose notaries run on this machine), nothing is exempt for being on this machine, by
// name or by address; private addresses still follow their own setting.
func TestExemptLoopbackOff(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []Target{
		{Host: "localhost"}, {Host: "app.localhost"}, {Host: "127.0.0.1"}, {Host: "::1"},
		{Host: "dev.test", Addr: lo}, {Host: "localhost", Addr: lo},
	} {
		if why, got := exempt(tc, exemptions{loopback: false, private: true}); got {
			t.Errorf("exempt(%+v) with exempt-loopback off = true (%q), want false", tc, why)
		}
	}
	if _, got := exempt(Target{Host: "10.0.0.1"}, exemptions{loopback: false, private: true}); !got {
		t.Error("exempt(10.0.0.1) with exempt-private on = false; the private setting is its own")
	}
	e := newEnv(t, func(s *settings.Settings) { s.ExemptLoopback = false })
	v := e.start(Config{})
	if v.Exempt(Target{Host: "127.0.0.1", Port: 443}) || v.Exempt(Target{Host: "localhost", Port: 443}) {
		t.Error("Exempt(loopback) = true with the stored exempt-loopback setting off")
	}
}

// TestExempterAndCleartextAllowedReadTheSettings: the proxy's two cheap questions take
// the names as the proxy has them (any case, a trailing dot) and read the settings the
// verifier holds; a reload brings a change in.
func TestExempterAndCleartextAllowedReadTheSettings(t *testing.T) {
	e := newEnv(t, func(s *settings.Settings) { s.CleartextAllow = []string{"chat.test:5222"} })
	v := e.start(Config{})
	for _, tc := range []struct {
		host string
		port int
		want bool
	}{
		{"chat.test", 5222, true}, {"Chat.Test.", 5222, true}, {"chat.test", 5269, false},
		{"other.test", 5222, false}, {"bad name!", 5222, false},
	} {
		if got := v.CleartextAllowed(tc.host, tc.port); got != tc.want {
			t.Errorf("CleartextAllowed(%q, %d) = %v, want %v", tc.host, tc.port, got, tc.want)
		}
	}
	for _, h := range []string{"localhost", "localhost.", "LocalHost.", "dev.localhost.", "127.0.0.1", "[::1]"} {
		if !v.Exempt(Target{Host: h, Port: 443}) {
			t.Errorf("Exempt(%q) = false; a loopback destination is exempt", h)
		}
	}
	if v.Exempt(Target{Host: "localhost", Port: 443, Addr: netip.MustParseAddr("198.51.100.20")}) {
		t.Error(`Exempt("localhost" dialled to 198.51.100.20) = true; the address dialled decides`)
	}

	s, err := e.store.Settings(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.CleartextAllow = []string{"db.test:5432"}
	if err := e.store.SaveSettings(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(e.ctx); err != nil {
		t.Fatal(err)
	}
	if v.CleartextAllowed("chat.test", 5222) || !v.CleartextAllowed("db.test", 5432) {
		t.Error("after a reload the allow-list is not the stored one")
	}
}
