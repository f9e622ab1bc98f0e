package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/settings"
)

// setting is one key of 'convergence set': how to show it and how to change it.
type setting struct {
	key, help string
	show      func(settings.Settings) string
	set       func(*settings.Settings, string) error
}

var settingKeys = []setting{
	{"threshold", "all | majority | one | K-of-N (e.g. 2-of-N): how many notaries must vouch",
		func(s settings.Settings) string {
			if s.Threshold == settings.ThresholdKOfN {
				return fmt.Sprintf("%d-of-N", s.ThresholdK)
			}
			return string(s.Threshold)
		},
		func(s *settings.Settings, v string) error {
			v = strings.ToLower(v)
			switch settings.Threshold(v) {
			case settings.ThresholdAll, settings.ThresholdMajority, settings.ThresholdOne:
				s.Threshold = settings.Threshold(v)
				return nil
			}
			k, ok := strings.CutSuffix(v, "-of-n")
			n, err := strconv.Atoi(k)
			if !ok || err != nil {
				return fmt.Errorf("%w: threshold must be all, majority, one or K-of-N, not %q", ErrUsage, v)
			}
			s.Threshold, s.ThresholdK = settings.ThresholdKOfN, n
			return nil
		}},
	{"unreachable", "abstain | against: a notary that cannot be reached is a missing vote (abstain) or a vote against",
		func(s settings.Settings) string {
			if s.UnreachableCountsAgainst {
				return "against"
			}
			return "abstain"
		},
		func(s *settings.Settings, v string) error {
			switch v {
			case "abstain", "against":
				s.UnreachableCountsAgainst = v == "against"
				return nil
			}
			return fmt.Errorf("%w: unreachable must be abstain or against, not %q", ErrUsage, v)
		}},
	{"no-answer", "block | allow-warn: what to do when too few notaries can be reached to decide",
		func(s settings.Settings) string { return string(s.NoAnswerPolicy) },
		func(s *settings.Settings, v string) error { s.NoAnswerPolicy = settings.NoAnswerPolicy(v); return nil }},
	{"cache-ttl", "how long a verdict is reused, e.g. 24h; 0 turns the cache off",
		func(s settings.Settings) string { return s.CacheTTL.String() },
		durationSetter(func(s *settings.Settings, d time.Duration) { s.CacheTTL = d })},
	{"min-agree-age", "agreeing notaries must have seen the key this long, e.g. 72h; 0 is off",
		func(s settings.Settings) string { return s.MinAgreeAge.String() },
		durationSetter(func(s *settings.Settings, d time.Duration) { s.MinAgreeAge = d })},
	{"max-notaries", "ask at most N notaries per site, always the same ones for a site; 0 asks all",
		func(s settings.Settings) string { return strconv.Itoa(s.MaxNotaries) },
		func(s *settings.Settings, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%w: max-notaries must be a whole number, not %q", ErrUsage, v)
			}
			s.MaxNotaries = n
			return nil
		}},
	{"exempt-private", "on | off: do not check sites at private addresses (intranets)",
		func(s settings.Settings) string { return onOff(s.ExemptPrivate) },
		boolSetter(func(s *settings.Settings, b bool) { s.ExemptPrivate = b })},
	{"exempt-loopback", "on | off: do not check sites on this machine (loopback), which notaries elsewhere cannot see; off only with notaries on this machine too (as 'convergence demo' does)",
		func(s settings.Settings) string { return onOff(s.ExemptLoopback) },
		boolSetter(func(s *settings.Settings, b bool) { s.ExemptLoopback = b })},
	{"notifications", "on | off: desktop notifications when notaries disagree or reject",
		func(s settings.Settings) string { return onOff(s.Notifications) },
		boolSetter(func(s *settings.Settings, b bool) { s.Notifications = b })},
	{"paused", "on | off: pass traffic through unchecked ('convergence pause 15m' pauses for a while)",
		func(s settings.Settings) string {
			if s.PausedAt(time.Now()) && !s.PausedUntil.IsZero() {
				return "on until " + s.PausedUntil.Local().Format("15:04:05")
			}
			return onOff(s.PausedAt(time.Now()))
		},
		boolSetter(func(s *settings.Settings, b bool) { s.Paused, s.PausedUntil = b, time.Time{} })},
	{"listen", "the proxy's loopback address, e.g. 127.0.0.1:8118 (takes effect at restart)",
		func(s settings.Settings) string { return s.ListenAddr },
		func(s *settings.Settings, v string) error { s.ListenAddr = v; return nil }},
	{"directory-urls", "URL[,URL]: where notary directories are fetched from, or '' for none",
		func(s settings.Settings) string { return strings.Join(s.DirectoryURLs, ",") },
		func(s *settings.Settings, v string) error { s.DirectoryURLs = splitList(v); return nil }},
	{"directory-keys", "ed25519:KEY[,...]: the keys a directory must be signed with, or '' for none",
		func(s settings.Settings) string { return strings.Join(s.DirectoryKeys, ",") },
		func(s *settings.Settings, v string) error { s.DirectoryKeys = splitList(v); return nil }},
	{"upstream-proxy", "http://host:port of a proxy your network requires, or '' for none (at restart)",
		func(s settings.Settings) string { return s.UpstreamProxy },
		func(s *settings.Settings, v string) error { s.UpstreamProxy = v; return nil }},
	{"idle-timeout", "how long a proxied stream (a WebSocket, a long-poll) may stay quiet before it is closed, at least 10m, e.g. 2h; 0 is the default, 1h (at restart)",
		func(s settings.Settings) string { return s.ProxyIdleTimeout.String() },
		durationSetter(func(s *settings.Settings, d time.Duration) { s.ProxyIdleTimeout = d })},
	{"portal-probe", "http:// URL probed when notaries are unreachable, to spot a captive portal's sign-in page, or '' for none",
		func(s settings.Settings) string { return s.PortalProbeURL },
		func(s *settings.Settings, v string) error { s.PortalProbeURL = v; return nil }},
}

func durationSetter(apply func(*settings.Settings, time.Duration)) func(*settings.Settings, string) error {
	return func(s *settings.Settings, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%w: %q is not a duration such as 24h or 90m", ErrUsage, v)
		}
		apply(s, d)
		return nil
	}
}

func boolSetter(apply func(*settings.Settings, bool)) func(*settings.Settings, string) error {
	return func(s *settings.Settings, v string) error {
		switch strings.ToLower(v) {
		case "on", "true", "yes", "1":
			apply(s, true)
		case "off", "false", "no", "0":
			apply(s, false)
		default:
			return fmt.Errorf("%w: %q is not on or off", ErrUsage, v)
		}
		return nil
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func showSettings(ctx context.Context, c *core.Core, out io.Writer) error {
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, k := range settingKeys {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.key, k.show(s), k.help)
	}
	return tw.Flush()
}

func set(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	if len(args) != 2 {
		return fmt.Errorf("%w: set takes KEY VALUE", ErrUsage)
	}
	for _, k := range settingKeys {
		if k.key != args[0] {
			continue
		}
		s, err := c.UpdateSettings(ctx, func(s *settings.Settings) error { return k.set(s, args[1]) })
		if errors.Is(err, ErrUsage) {
			return withHint(err, settingsHint)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s = %s\n", k.key, k.show(s))
		return nil
	}
	return withHint(fmt.Errorf("%w: unknown setting %q", ErrUsage, args[0]), settingsHint)
}

// splitList reads a comma-separated list; "" is the empty list.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
