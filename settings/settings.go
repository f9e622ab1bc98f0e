package settings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// Threshold names the consensus rule: how many notaries must vouch for a certificate.
type Threshold string

// The consensus rules.
const (
	ThresholdAll      Threshold = "all"      // every notary asked must vouch
	ThresholdMajority Threshold = "majority" // more than half of the notaries asked
	ThresholdOne      Threshold = "one"      // at least one notary
	ThresholdKOfN     Threshold = "k-of-n"   // at least Settings.ThresholdK notaries
)

// Needed is how many notaries must vouch, out of the asked notaries asked, for the
// rule to be met; k is Settings.ThresholdK. Every rule counts against the notaries
// asked, not the ones that answered. A rule not known here is the default, majority.
// This and Describe are the whole definition of a rule: a new one is a constant here,
// a case in each, and its line in Validate; the consensus (verifier.Decide), the
// window and the terminal take it from here.
func (t Threshold) Needed(k, asked int) int {
	switch t {
	case ThresholdAll:
		return asked
	case ThresholdOne:
		return 1
	case ThresholdKOfN:
		return max(k, 1)
	default:
		return asked/2 + 1
	}
}

// Describe says in plain words what the rule needs out of asked notaries, e.g.
// "more than half: 2 of 3".
func (t Threshold) Describe(k, asked int) string {
	switch t {
	case ThresholdAll:
		return fmt.Sprintf("all %d", asked)
	case ThresholdOne:
		return "at least one"
	case ThresholdKOfN:
		return fmt.Sprintf("at least %d", max(k, 1))
	default:
		return fmt.Sprintf("more than half: %d of %d", t.Needed(k, asked), asked)
	}
}

// NoAnswerPolicy says what happens when no notary gives a usable answer.
type NoAnswerPolicy string

// The no-answer policies.
const (
	NoAnswerBlock     NoAnswerPolicy = "block"      // reject the certificate
	NoAnswerAllowWarn NoAnswerPolicy = "allow-warn" // allow it, with a warning
)

// MaxCacheTTL bounds Settings.CacheTTL, to catch unit mistakes.
const MaxCacheTTL = 366 * 24 * time.Hour

// Settings are the user's choices. The zero value is not valid: start from Defaults.
type Settings struct {
	// Threshold is the consensus rule; ThresholdK is K for ThresholdKOfN (at least 1)
	// and is ignored by the other rules.
	Threshold  Threshold `json:"threshold"`
	ThresholdK int       `json:"threshold_k"`
	// MinAgreeAge, when not 0, also requires the agreeing notaries to have seen the
	// key for at least this long (Perspectives' "key seen for at least D").
	MinAgreeAge time.Duration `json:"min_agree_age"`
	// UnreachableCountsAgainst makes an unreachable notary count as disagreeing;
	// false (the default) means it abstains.
	UnreachableCountsAgainst bool `json:"unreachable_counts_against"`
	// NoAnswerPolicy applies when no notary gives a usable answer; default block.
	NoAnswerPolicy NoAnswerPolicy `json:"no_answer_policy"`
	// CacheTTL is how long a verdict is reused; 0 turns the cache off. Default 24h.
	CacheTTL time.Duration `json:"cache_ttl"`
	// ExemptPrivate skips checking sites at private (RFC 1918, ULA) addresses.
	ExemptPrivate bool `json:"exempt_private"`
	// ExemptLoopback skips checking sites on this machine (loopback addresses and
	// localhost names), which notaries elsewhere cannot see; default true. Off, they
	// are checked like any site: only useful with notaries that run on this machine
	// too, as in 'convergence demo'.
	ExemptLoopback bool `json:"exempt_loopback"`
	// MaxNotaries caps how many notaries are asked per check; 0 asks all.
	MaxNotaries int `json:"max_notaries"`
	// Notifications turns desktop notifications on; default true.
	Notifications bool `json:"notifications"`
	// Autostart starts Convergence at login.
	Autostart bool `json:"autostart"`
	// ListenAddr is the proxy's host:port; the host must be loopback. Default
	// 127.0.0.1:8118.
	ListenAddr string `json:"listen_addr"`
	// UpstreamProxy is an optional http:// proxy URL (HTTP CONNECT) for outgoing
	// connections; empty means direct.
	UpstreamProxy string `json:"upstream_proxy"`
	// Paused turns checking off: the proxy passes traffic through unchecked.
	Paused bool `json:"paused"`
	// PausedUntil, while Paused, is when the pause ends by itself (the running app
	// resumes then, and says so); zero pauses until the user resumes. PausedAt says
	// whether a pause holds at a given time.
	PausedUntil time.Time `json:"paused_until"`
	// ProtectSystem is the user's "Protect this computer": the desktop's proxy
	// settings point at the proxy while the app runs; they are put back at Quit and
	// pointed at the proxy again at the next start.
	ProtectSystem bool `json:"protect_system"`
	// CleartextAllow lists the "host:port" destinations to which the proxy opens a
	// tunnel that is not TLS (plain TCP, or a protocol that starts TLS later such as
	// XMPP, PostgreSQL or LDAP with STARTTLS), unchecked; every other such tunnel is
	// refused. Stored canonical (CanonicalHostPort), sorted; empty by default.
	CleartextAllow []string `json:"cleartext_allow"`
	// PortalProbeURL is the plain-HTTP address probed when notaries cannot be reached,
	// to tell a captive portal (the network wants a sign-in first: the probe is
	// redirected, or answered with other content than PortalProbeExpect) from an
	// outage. Empty turns the probe off. Default DefaultPortalProbeURL.
	PortalProbeURL string `json:"portal_probe_url"`
	// DirectoryURLs are where notary directories are fetched from (http or https: the
	// signature, not the transport, makes one trusted); DirectoryKeys are the
	// directory keys ("ed25519:BASE64") a directory must be signed with, one of them.
	// Both empty by default.
	DirectoryURLs []string `json:"directory_urls"`
	DirectoryKeys []string `json:"directory_keys"`
	// ProxyIdleTimeout closes a proxied stream (a tunnel, a WebSocket, a long-poll, an
	// answer slow to start) once no byte moved either way for this long; 0 (the
	// default) takes the proxy's own, 1 h. Never under MinProxyIdleTimeout: a browser
	// keeps such streams open as long as the page lives. Read at start.
	ProxyIdleTimeout time.Duration `json:"proxy_idle_timeout"`
}

// MinProxyIdleTimeout is the least ProxyIdleTimeout other than 0 (issue 17: no
// established stream is cut for being quiet under 10 minutes).
const MinProxyIdleTimeout = 10 * time.Minute

// DefaultPortalProbeURL is Firefox's captive-portal probe: it answers "success".
const DefaultPortalProbeURL = "http://detectportal.firefox.com/success.txt"

// PortalProbeExpect is the body the probe URL answers with (spaces around it aside)
// when no captive portal is in the way.
const PortalProbeExpect = "success"

// Defaults returns the settings a new install starts with.
func Defaults() Settings {
	return Settings{
		Threshold:      ThresholdMajority,
		NoAnswerPolicy: NoAnswerBlock,
		CacheTTL:       24 * time.Hour,
		ExemptLoopback: true,
		Notifications:  true,
		ListenAddr:     "127.0.0.1:8118",
		PortalProbeURL: DefaultPortalProbeURL,
	}
}

// PausedAt reports whether protection is paused at now: Paused, and PausedUntil is
// zero or still to come.
func (s Settings) PausedAt(now time.Time) bool {
	return s.Paused && (s.PausedUntil.IsZero() || now.Before(s.PausedUntil))
}

// ErrInvalidSettings is matched by every error Validate returns.
var ErrInvalidSettings = errors.New("invalid settings")

// Validate reports every problem in s, joined; each matches ErrInvalidSettings.
func (s Settings) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidSettings}, args...)...))
	}
	switch s.Threshold {
	case ThresholdAll, ThresholdMajority, ThresholdOne:
	case ThresholdKOfN:
		if s.ThresholdK < 1 {
			bad("threshold k-of-n needs K of at least 1, got %d", s.ThresholdK)
		}
		if s.MaxNotaries > 0 && s.ThresholdK > s.MaxNotaries {
			bad("threshold K (%d) is more than the notaries asked (%d)", s.ThresholdK, s.MaxNotaries)
		}
	default:
		bad("unknown threshold %q (want all, majority, one or k-of-n)", s.Threshold)
	}
	if s.ThresholdK < 0 {
		bad("threshold K is negative: %d", s.ThresholdK)
	}
	if s.MinAgreeAge < 0 {
		bad("minimum agreement age is negative: %s", s.MinAgreeAge)
	}
	switch s.NoAnswerPolicy {
	case NoAnswerBlock, NoAnswerAllowWarn:
	default:
		bad("unknown no-answer policy %q (want block or allow-warn)", s.NoAnswerPolicy)
	}
	if s.CacheTTL < 0 || s.CacheTTL > MaxCacheTTL {
		bad("cache TTL %s is out of range 0..%s", s.CacheTTL, MaxCacheTTL)
	}
	if s.MaxNotaries < 0 {
		bad("max notaries is negative: %d", s.MaxNotaries)
	}
	if s.ProxyIdleTimeout != 0 && s.ProxyIdleTimeout < MinProxyIdleTimeout {
		bad("proxy idle timeout %s is under %s (0 takes the default, 1h)", s.ProxyIdleTimeout, MinProxyIdleTimeout)
	}
	if err := validateListen(s.ListenAddr); err != nil {
		bad("listen address %q: %v", s.ListenAddr, err)
	}
	if err := validateUpstream(s.UpstreamProxy); err != nil {
		bad("upstream proxy %q: %v", s.UpstreamProxy, err)
	}
	if err := validatePortalProbe(s.PortalProbeURL); err != nil {
		bad("portal probe URL %q: %v", s.PortalProbeURL, err)
	}
	errs = append(errs, validateCleartextAllow(s.CleartextAllow)...)
	errs = append(errs, validateDirectories(s.DirectoryURLs, s.DirectoryKeys)...)
	return errors.Join(errs...)
}

// validateListen accepts host:port with a loopback host: the proxy holds a CA that
// can mint certificates for any site and must not be reachable from the network.
func validateListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("host %q is not a loopback address (127.0.0.1, ::1 or localhost)", host)
	}
	return nil
}

// validatePortalProbe accepts "" (no probe) or an absolute http:// URL: the probe
// must be plain HTTP, which a captive portal can redirect.
func validatePortalProbe(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" || u.Host == "" {
		return errors.New("want an http:// URL with a host (a captive portal can only redirect plain HTTP), or '' for no probe")
	}
	return nil
}

func validateUpstream(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	// The proxy and the notary client speak HTTP CONNECT to the upstream proxy only.
	if u.Scheme != "http" {
		return fmt.Errorf("scheme %q is not supported: give an http:// proxy (HTTP CONNECT)", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

// Settings returns the stored settings. Each setting is a row (key, JSON value); a
// missing or unknown key, or a stored value that does not decode or would make the
// settings invalid, falls back to its default, so a damaged row never stops the app.
func (s *Store) Settings(ctx context.Context) (Settings, error) {
	stored, err := readSettings(ctx, s.db)
	if err != nil {
		return Settings{}, err
	}
	return mergeSettings(stored), nil
}

// mergeSettings lays stored values over the defaults: all at once when that is valid,
// else key by key, keeping each that leaves the settings valid. threshold_k goes
// before threshold, which may need it.
func mergeSettings(stored map[string]json.RawMessage) Settings {
	all := Defaults()
	if b, err := json.Marshal(stored); err == nil && json.Unmarshal(b, &all) == nil && all.Validate() == nil {
		return all
	}
	keys := make([]string, 0, len(stored))
	for k := range stored {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "threshold_k") != (keys[j] == "threshold_k") {
			return keys[i] == "threshold_k"
		}
		return keys[i] < keys[j]
	})
	cur := Defaults()
	for _, k := range keys {
		b, err := json.Marshal(map[string]json.RawMessage{k: stored[k]})
		if err != nil {
			continue
		}
		next := cur
		if json.Unmarshal(b, &next) == nil && next.Validate() == nil {
			cur = next
		}
	}
	return cur
}

// SaveSettings validates st and stores it whole, in one transaction, with
// CleartextAllow in canonical form.
func (s *Store) SaveSettings(ctx context.Context, st Settings) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("failed to save settings: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		stored, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		if err := noteExceptions(ctx, tx, mergeSettings(stored), st, s.now()); err != nil {
			return err
		}
		return writeSettings(ctx, tx, st)
	})
	if err != nil {
		return fmt.Errorf("failed to save settings: %w", err)
	}
	return nil
}

// CheckUpstreamProxy says what is wrong with an upstream proxy URL as a user typed it
// (empty is none), for the window to say it under the field; nil when Validate would
// accept it.
func CheckUpstreamProxy(raw string) error { return validateUpstream(raw) }
