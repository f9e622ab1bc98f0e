package settings

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Settings)
		wantErr string // "" for valid
	}{
		{"defaults", func(*Settings) {}, ""},
		{"all", func(s *Settings) { s.Threshold = ThresholdAll }, ""},
		{"one", func(s *Settings) { s.Threshold = ThresholdOne }, ""},
		{"k-of-n", func(s *Settings) { s.Threshold, s.ThresholdK = ThresholdKOfN, 2 }, ""},
		{"k-of-n without K", func(s *Settings) { s.Threshold = ThresholdKOfN }, "needs K of at least 1"},
		{"k-of-n K over max", func(s *Settings) { s.Threshold, s.ThresholdK, s.MaxNotaries = ThresholdKOfN, 4, 3 }, "more than the notaries asked"},
		{"k-of-n K at max", func(s *Settings) { s.Threshold, s.ThresholdK, s.MaxNotaries = ThresholdKOfN, 3, 3 }, ""},
		{"K ignored by majority", func(s *Settings) { s.ThresholdK = 7 }, ""},
		{"negative K", func(s *Settings) { s.ThresholdK = -1 }, "negative"},
		{"unknown threshold", func(s *Settings) { s.Threshold = "most" }, `unknown threshold "most"`},
		{"empty threshold", func(s *Settings) { s.Threshold = "" }, "unknown threshold"},
		{"min agree age", func(s *Settings) { s.MinAgreeAge = 72 * time.Hour }, ""},
		{"negative min agree age", func(s *Settings) { s.MinAgreeAge = -time.Second }, "negative"},
		{"allow-warn", func(s *Settings) { s.NoAnswerPolicy = NoAnswerAllowWarn }, ""},
		{"unknown policy", func(s *Settings) { s.NoAnswerPolicy = "allow" }, "no-answer policy"},
		{"cache off", func(s *Settings) { s.CacheTTL = 0 }, ""},
		{"negative ttl", func(s *Settings) { s.CacheTTL = -time.Hour }, "cache TTL"},
		{"ttl in years", func(s *Settings) { s.CacheTTL = 2 * MaxCacheTTL }, "cache TTL"},
		{"negative max notaries", func(s *Settings) { s.MaxNotaries = -1 }, "max notaries"},
		{"listen ::1", func(s *Settings) { s.ListenAddr = "[::1]:8118" }, ""},
		{"listen localhost", func(s *Settings) { s.ListenAddr = "localhost:0" }, ""},
		{"listen 127.0.0.2", func(s *Settings) { s.ListenAddr = "127.0.0.2:3128" }, ""},
		{"listen all interfaces", func(s *Settings) { s.ListenAddr = "0.0.0.0:8118" }, "not a loopback"},
		{"listen empty host", func(s *Settings) { s.ListenAddr = ":8118" }, "not a loopback"},
		{"listen LAN", func(s *Settings) { s.ListenAddr = "192.168.1.5:8118" }, "not a loopback"},
		{"listen no port", func(s *Settings) { s.ListenAddr = "127.0.0.1" }, "listen address"},
		{"listen bad port", func(s *Settings) { s.ListenAddr = "127.0.0.1:99999" }, "port"},
		{"upstream http", func(s *Settings) { s.UpstreamProxy = "http://proxy.corp:3128" }, ""},
		{"upstream socks5 unsupported", func(s *Settings) { s.UpstreamProxy = "socks5://127.0.0.1:1080" }, "upstream"},
		{"upstream ftp", func(s *Settings) { s.UpstreamProxy = "ftp://x" }, "scheme"},
		{"upstream no host", func(s *Settings) { s.UpstreamProxy = "http://" }, "no host"},
		{"portal probe off", func(s *Settings) { s.PortalProbeURL = "" }, ""},
		{"portal probe loopback", func(s *Settings) { s.PortalProbeURL = "http://127.0.0.1:8080/success.txt" }, ""},
		{"portal probe https", func(s *Settings) { s.PortalProbeURL = "https://detectportal.firefox.com/success.txt" }, "portal probe"},
		{"portal probe no host", func(s *Settings) { s.PortalProbeURL = "http:///x" }, "portal probe"},
		{"idle timeout default", func(s *Settings) { s.ProxyIdleTimeout = 0 }, ""},
		{"idle timeout 2h", func(s *Settings) { s.ProxyIdleTimeout = 2 * time.Hour }, ""},
		{"idle timeout 2m", func(s *Settings) { s.ProxyIdleTimeout = 2 * time.Minute }, "idle timeout"},
		{"idle timeout negative", func(s *Settings) { s.ProxyIdleTimeout = -time.Hour }, "idle timeout"},
		{"two problems", func(s *Settings) { s.Threshold, s.MaxNotaries = "x", -2 }, "max notaries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Defaults()
			tc.edit(&s)
			err := s.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidSettings) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: %v, want ErrInvalidSettings with %q", err, tc.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	want := Settings{Threshold: ThresholdMajority, NoAnswerPolicy: NoAnswerBlock, CacheTTL: 24 * time.Hour,
		ExemptLoopback: true, Notifications: true, ListenAddr: "127.0.0.1:8118", PortalProbeURL: "http://detectportal.firefox.com/success.txt"}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Defaults() = %+v, want %+v", d, want)
	}
}

func TestSettingsRoundTripAndFallback(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	got, err := s.Settings(ctx)
	if err != nil || !reflect.DeepEqual(got, Defaults()) {
		t.Fatalf("empty store: %+v, %v; want the defaults", got, err)
	}
	bad := Defaults()
	bad.Threshold = "nope"
	if err := s.SaveSettings(ctx, bad); !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("SaveSettings of invalid settings: %v", err)
	}
	if got, _ := s.Settings(ctx); !reflect.DeepEqual(got, Defaults()) {
		t.Fatal("an invalid save changed the settings")
	}
	want := Settings{Threshold: ThresholdKOfN, ThresholdK: 3, MinAgreeAge: 48 * time.Hour, UnreachableCountsAgainst: true,
		NoAnswerPolicy: NoAnswerAllowWarn, CacheTTL: time.Hour, ExemptPrivate: true, MaxNotaries: 5, Notifications: false,
		Autostart: true, ListenAddr: "[::1]:9000", UpstreamProxy: "http://127.0.0.1:3128", Paused: true}
	if err := s.SaveSettings(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Settings(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Settings = %+v, %v; want %+v", got, err, want)
	}

	// Damage rows behind the store's back: an unknown key, a value of the wrong type,
	// a value that makes the settings invalid, a missing key. Each falls back alone.
	for _, q := range []string{
		`INSERT INTO settings(key, value) VALUES('from_the_future', '"x"')`,
		`UPDATE settings SET value = '"many"' WHERE key = 'max_notaries'`,
		`UPDATE settings SET value = '"0.0.0.0:1"' WHERE key = 'listen_addr'`,
		`DELETE FROM settings WHERE key = 'cache_ttl'`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp := want
	exp.MaxNotaries, exp.ListenAddr, exp.CacheTTL = 0, Defaults().ListenAddr, Defaults().CacheTTL
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("after damage: %+v\nwant %+v", got, exp)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("loaded settings are invalid: %v", err)
	}
}

func TestMergeSettingsKeepsKBeforeThreshold(t *testing.T) {
	// k-of-n needs its K: loaded key by key (forced here by one bad row), threshold_k
	// must land before threshold or k-of-n would be refused.
	got := mergeSettings(map[string]json.RawMessage{
		"threshold":   json.RawMessage(`"k-of-n"`),
		"threshold_k": json.RawMessage(`2`),
		"listen_addr": json.RawMessage(`"0.0.0.0:1"`),
	})
	if got.Threshold != ThresholdKOfN || got.ThresholdK != 2 || got.ListenAddr != Defaults().ListenAddr {
		t.Errorf("merge = %+v; want k-of-n with K 2 and the default listen address", got)
	}
}
