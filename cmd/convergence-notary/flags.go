package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/notary/server"
)

// serveConfig is everything "serve" needs, from flags and the config file.
type serveConfig struct {
	listen         []string
	data           string
	keyType        string
	name           string
	hosts          []string
	region         string
	bundleLocation string
	publicPort     int // the port clients reach the notary at, for the bundle; 0: the first --listen port
	window         time.Duration
	checks         []string
	decide         []string
	daneResolver   string
	resolver       string
	allowTargets   []netip.Prefix
	allowPorts     []int
	connectTimeout time.Duration
	handshake      time.Duration
	rounds         int
	maxProbes      int
	maxConns       int
	maxConnsClient int
	rate           float64
	burst          int
	maxClients     int
	readTimeout    time.Duration
	writeTimeout   time.Duration
	idleTimeout    time.Duration
	maxHeader      int
	tlsMin         string
	logLevel       string
	logFormat      string
	logClientIPs   bool
	store          string         // "" (DATA/notary.db), sqlite:PATH, or a postgres:// URL
	keyDir         string         // where the key files are; default data
	probeLease     time.Duration  // a fleet's probe lease
	trustedProxies []netip.Prefix // whose X-Forwarded-For is believed
	metricsFrom    []netip.Prefix // who may read /metrics
	args           []string       // as given, parsed again on SIGHUP
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	var listen, hosts, checks, decide, targets, ports, proxies, metricsFrom listFlag
	var configFile string
	fs := flag.NewFlagSet("convergence-notary serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&configFile, "config", "", "read flags from `FILE` (lines \"name = value\"; the command line wins)")
	fs.Var(&listen, "listen", "HTTPS listen `ADDR` (repeatable; default :443)")
	fs.StringVar(&c.data, "data", "/var/lib/convergence-notary", "data `DIR`: key, certificate, database")
	fs.StringVar(&c.keyType, "key-type", "", "key to create on first start: ecdsa (default), ed25519 (fastest; Convergence clients only, browsers refuse it) or rsa (RSA-2048, for original clients)")
	fs.StringVar(&c.name, "name", "Convergence notary", "notary `NAME` shown on its page and in its bundle")
	fs.Var(&hosts, "host", "`NAME` clients reach this notary at (repeatable): certificate and bundle")
	fs.StringVar(&c.region, "region", "", "ISO 3166 country `CC` for the bundle")
	fs.StringVar(&c.bundleLocation, "bundle-location", "", "https `URL` the bundle is published at")
	fs.IntVar(&c.publicPort, "public-port", 0, "HTTPS `PORT` clients reach the notary at, when it differs from --listen's (port forwarding, a load balancer); written in the served bundle")
	fs.DurationVar(&c.window, "freshness", time.Hour, "a certificate is confirmed only if seen within this window")
	fs.Var(&checks, "checks", "checks to run besides "+strings.Join(checkNames(func(c server.CheckInfo) bool { return c.Always }), ", ")+
		": "+strings.Join(checkNames(optionalCheck), ", ")+" (default "+strings.Join(checkNames(func(c server.CheckInfo) bool { return c.ByDefault }), ",")+")")
	fs.Var(&decide, "decide", "checks that decide 200/409: "+strings.Join(checkNames(nil), ", ")+
		" (default "+strings.Join(checkNames(func(c server.CheckInfo) bool { return c.Decides }), ",")+")")
	fs.StringVar(&c.daneResolver, "dane-resolver", "", "validating DNS resolver `HOST:PORT` for DANE (AD bit trusted; use a local one)")
	fs.StringVar(&c.resolver, "resolver", "", "DNS server `HOST:PORT` for target lookups (default: the system's)")
	fs.Var(&targets, "allow-target", "probe this special-purpose `CIDR` anyway (repeatable), e.g. an intranet")
	fs.Var(&ports, "allow-port", "probe this `PORT` or range (repeatable) besides the usual TLS ports")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 5*time.Second, "probe connect deadline per address")
	fs.DurationVar(&c.handshake, "handshake-timeout", 5*time.Second, "probe TLS handshake deadline per address")
	fs.IntVar(&c.rounds, "probe-rounds", 3, "handshakes per address while the asked certificate is not seen")
	fs.IntVar(&c.maxProbes, "max-probes", 32, "probes at once")
	fs.IntVar(&c.maxConns, "max-conns", 1024, "concurrent client connections")
	fs.IntVar(&c.maxConnsClient, "max-conns-per-client", 64, "concurrent connections one client (IPv4 address or IPv6 /64) may hold, at most --max-conns; beyond it a client's connection is closed at once")
	fs.Float64Var(&c.rate, "rate", 5, "queries per second per client (IPv4 address or IPv6 /64); 0 disables")
	fs.IntVar(&c.burst, "burst", 30, "queries a client may make at once")
	fs.IntVar(&c.maxClients, "max-clients", 10000, "clients tracked by the rate limit")
	fs.DurationVar(&c.readTimeout, "read-timeout", 10*time.Second, "request read deadline")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 60*time.Second, "response deadline (covers a probe)")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 60*time.Second, "keep-alive idle deadline")
	fs.IntVar(&c.maxHeader, "max-header-bytes", 8<<10, "request header size limit")
	fs.StringVar(&c.tlsMin, "tls-min", "1.2", "lowest TLS version served: 1.2, or 1.0 for 2011-era clients")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or text")
	fs.StringVar(&c.store, "store", "", "the database: a postgres://USER@HOST/DB URL (a fleet: several notaries share it; password from $PGPASSWORD or ~/.pgpass), or sqlite:PATH (default DATA/notary.db)")
	fs.StringVar(&c.keyDir, "key-dir", "", "`DIR` holding the key and certificate (default --data); a fleet's members get copies of one (convergence-notary keygen), or $"+envKey+" and $"+envCert)
	fs.DurationVar(&c.probeLease, "probe-lease", 10*time.Second, "a fleet member's claim on probing a target, renewed while it probes: how long a member that died mid-probe holds up the others")
	fs.Var(&proxies, "trusted-proxy", "reverse proxy `CIDR` (repeatable) whose X-Forwarded-For names the client for the rate limit; from other peers the header is ignored")
	fs.Var(&metricsFrom, "metrics-from", "client `CIDR` (repeatable) allowed to read /metrics (default loopback only)")
	fs.BoolVar(&c.logClientIPs, "log-client-ips", false, "log client addresses (off: the notary does not record who asks)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return c, err
		}
		return c, usage(`run "convergence-notary serve -h" for the flags`, "%v", err)
	}
	if fs.NArg() > 0 {
		return c, usage("serve takes only flags", "unexpected argument %q", fs.Arg(0))
	}
	if configFile != "" {
		if err := applyConfigFile(fs, configFile); err != nil {
			return c, err
		}
	}
	c.listen, c.hosts = orDefault(listen, ":443"), hosts
	c.checks = orDefault(checks, checkNames(func(c server.CheckInfo) bool { return c.ByDefault })...)
	c.decide = orDefault(decide, checkNames(func(c server.CheckInfo) bool { return c.Decides })...)
	var err error
	if c.allowTargets, err = parsePrefixes("allow-target", targets); err != nil {
		return c, err
	}
	if c.trustedProxies, err = parsePrefixes("trusted-proxy", proxies); err != nil {
		return c, err
	}
	if c.metricsFrom, err = parsePrefixes("metrics-from", metricsFrom); err != nil {
		return c, err
	}
	if c.keyDir == "" {
		c.keyDir = c.data
	}
	c.args = args
	if c.allowPorts, err = parsePorts(ports); err != nil {
		return c, err
	}
	return c, c.validate()
}

func orDefault(l listFlag, def ...string) []string {
	if len(l) == 0 {
		return def
	}
	return l
}

func (c *serveConfig) validate() error {
	if c.publicPort < 0 || c.publicPort > 65535 {
		return usage("give the port clients connect to, 1-65535", "--public-port %d is not a port", c.publicPort)
	}
	known := checkNames(nil)
	hint := "the checks are " + strings.Join(known, ", ")
	for _, ch := range c.checks {
		if !slices.Contains(known, ch) {
			return usage(hint, "unknown check %q in --checks", ch)
		}
	}
	for _, ch := range c.decide {
		info, ok := checkInfo(ch)
		if !ok {
			return usage(hint, "unknown check %q in --decide", ch)
		}
		if !info.Always && !slices.Contains(c.checks, ch) {
			return usage(fmt.Sprintf("add it to --checks, e.g. --checks %s", ch), "--decide names %q, which --checks does not run", ch)
		}
		if info.NeedsResolver && c.daneResolver == "" {
			return usage("give --dane-resolver 127.0.0.1:53 (a local validating resolver such as unbound)", "--decide %s needs a validating resolver", ch)
		}
	}
	if c.keyType != "" && c.keyType != "ecdsa" && c.keyType != "ed25519" && c.keyType != "rsa" {
		return usage("use --key-type ecdsa (default), ed25519 or rsa", "unknown key type %q", c.keyType)
	}
	if c.tlsMin != "1.2" && c.tlsMin != "1.0" {
		return usage("use --tls-min 1.2 (default) or 1.0", "bad --tls-min %q", c.tlsMin)
	}
	for name, d := range map[string]time.Duration{"freshness": c.window, "connect-timeout": c.connectTimeout, "handshake-timeout": c.handshake,
		"read-timeout": c.readTimeout, "write-timeout": c.writeTimeout, "idle-timeout": c.idleTimeout} {
		if err := positive(name, d); err != nil {
			return err
		}
	}
	if c.rounds < 1 || c.maxProbes < 1 || c.maxConns < 1 || c.maxHeader < 1024 || c.rate < 0 {
		return usage("counts must be positive (max-header-bytes at least 1024)", "bad limit among --probe-rounds, --max-probes, --max-conns, --max-header-bytes, --rate")
	}
	if c.maxConnsClient < 1 || c.maxConnsClient > c.maxConns {
		return usage(fmt.Sprintf("give --max-conns-per-client between 1 and --max-conns (%d)", c.maxConns), "bad --max-conns-per-client %d", c.maxConnsClient)
	}
	if c.store != "" && !c.fleet() && !strings.HasPrefix(c.store, "sqlite:") {
		return usage("give --store postgres://USER@HOST:5432/DB or --store sqlite:/var/lib/convergence-notary/notary.db", "unknown store %q", redactedStore(c.store))
	}
	if err := positive("probe-lease", c.probeLease); err != nil {
		return err
	}
	if c.logFormat != "json" && c.logFormat != "text" {
		return usage("use --log-format json or text", "bad --log-format %q", c.logFormat)
	}
	return nil
}

// checkNames returns the names of the notary's checks (server.Checks) that keep
// returns true for, all of them when keep is nil, in the registry's order.
func checkNames(keep func(server.CheckInfo) bool) []string {
	var out []string
	for _, c := range server.Checks() {
		if keep == nil || keep(c) {
			out = append(out, c.Name)
		}
	}
	return out
}

// optionalCheck reports whether a check is run only when --checks names it.
func optionalCheck(c server.CheckInfo) bool { return !c.Always }

// checkInfo returns the check named name.
func checkInfo(name string) (server.CheckInfo, bool) {
	for _, c := range server.Checks() {
		if c.Name == name {
			return c, true
		}
	}
	return server.CheckInfo{}, false
}

// redactedStore is a --store value fit for messages: a URL's password replaced.
func redactedStore(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
