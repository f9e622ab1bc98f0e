package settings

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalHostPort(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for an error
	}{
		{"chat.example.org:5222", "chat.example.org:5222"},
		{"  Chat.Example.ORG.:5222 ", "chat.example.org:5222"}, // case, one trailing dot, spaces
		{"[2001:DB8::1]:5432", "[2001:db8::1]:5432"},
		{"10.0.0.7:389", "10.0.0.7:389"},
		{"chat.example.org", ""},        // no port
		{"chat.example.org:0", ""},      // port out of range
		{"chat.example.org:65536", ""},  // port out of range
		{"chat.example.org:xmpp", ""},   // a service name is not a port
		{":5222", ""},                   // no host
		{"chat..example.org:5222", ""},  // empty label
		{"chat.example.org..:5222", ""}, // two trailing dots: only one is dropped
		{"ch@t.example.org:5222", ""},
		{"2001:db8::1:5432", ""}, // IPv6 without brackets
	} {
		got, err := CanonicalHostPort(tc.in)
		if tc.want == "" {
			if err == nil || !errors.Is(err, ErrInvalidSettings) {
				t.Errorf("CanonicalHostPort(%q) = %q, %v; want an ErrInvalidSettings", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CanonicalHostPort(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeCleartextAllow(t *testing.T) {
	got, err := NormalizeCleartextAllow([]string{"b.test:1", "", "B.test.:1", "a.test:2", "  "})
	if err != nil || !reflect.DeepEqual(got, []string{"a.test:2", "b.test:1"}) {
		t.Errorf("NormalizeCleartextAllow = %q, %v; want sorted, canonical, without duplicates", got, err)
	}
	_, err = NormalizeCleartextAllow([]string{"ok.test:1", "bad", "worse:0"})
	if err == nil || !strings.Contains(err.Error(), `"bad"`) || !strings.Contains(err.Error(), `"worse:0"`) {
		t.Errorf("NormalizeCleartextAllow with two bad entries: %v; want both named", err)
	}
}

func TestAllowsCleartext(t *testing.T) {
	s := Defaults()
	if s.AllowsCleartext("chat.test", 5222) {
		t.Fatal("the defaults allow a cleartext tunnel; they must allow none")
	}
	s.CleartextAllow = []string{"chat.test:5222", "[2001:db8::1]:5432", "Hand.Written.:389"}
	for _, tc := range []struct {
		host string
		port int
		want bool
	}{
		{"chat.test", 5222, true},
		{"chat.test", 5223, false}, // the port is part of the entry
		{"other.test", 5222, false},
		{"sub.chat.test", 5222, false}, // no wildcards
		{"2001:db8::1", 5432, true},
		{"hand.written", 389, true}, // an entry not stored canonical still matches
	} {
		if got := s.AllowsCleartext(tc.host, tc.port); got != tc.want {
			t.Errorf("AllowsCleartext(%q, %d) = %v, want %v", tc.host, tc.port, got, tc.want)
		}
	}
}

func TestCleartextAllowValidatedAndStoredCanonical(t *testing.T) {
	st := openTest(t, t.TempDir())
	ctx := testCtx(t)
	s := Defaults()
	s.CleartextAllow = []string{"chat.test:5222", "nope"}
	if err := st.SaveSettings(ctx, s); !errors.Is(err, ErrInvalidSettings) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("SaveSettings with a bad entry: %v; want ErrInvalidSettings naming it", err)
	}
	s.CleartextAllow = []string{"Chat.Test.:5222", "db.test:5432", "chat.test:5222"}
	if err := st.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := st.Settings(ctx)
	if err != nil || !reflect.DeepEqual(got.CleartextAllow, []string{"chat.test:5222", "db.test:5432"}) {
		t.Errorf("stored CleartextAllow = %q, %v; want canonical, sorted, deduplicated", got.CleartextAllow, err)
	}
}
