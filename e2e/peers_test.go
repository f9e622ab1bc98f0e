package e2e

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var listeningRE = regexp.MustCompile(`(?m)^listening \S+$`)

// notary is a real convergence-notary serving inside its own namespace.
type notary struct {
	name   string // as in its bundle
	host   string // the name clients reach it at
	bundle string // .notary file
	proc   *proc
}

// startNotary creates a notary's key and bundle with `convergence-notary bundle`, then
// runs `convergence-notary serve` in role's namespace on port 443, allowed to probe the
// lab's test ranges. name resolves to the notary's addresses in every namespace.
func (l *lab) startNotary(role, name string) *notary {
	l.t.Helper()
	h := l.host(role)
	n := &notary{name: name, host: role + ".notary.test"}
	l.name(n.host, h.v4, h.v6)
	data := filepath.Join(l.dir, role+"-data")
	out, errOut, err := l.runIn(h.ns, os.Environ(), time.Minute, bins.notary, "bundle", "--data", data,
		"--name", name, "--host", n.host, "--ssl-port", "443")
	if err != nil {
		l.t.Fatalf("convergence-notary bundle: %v\n%s", err, errOut)
	}
	n.bundle = filepath.Join(l.dir, role+".notary")
	l.writeFile(n.bundle, out)
	// The notary's own addresses, not ":443": a hijacker may hold another address's
	// port 443 on this host.
	n.proc = l.startIn(h.ns, role, os.Environ(), bins.notary, "serve", "--data", data,
		"--listen", net.JoinHostPort(h.v4.String(), "443"), "--listen", net.JoinHostPort(h.v6.String(), "443"),
		"--name", name, "--host", n.host,
		"--allow-target", "198.51.100.0/24", "--allow-target", "fd00::/8",
		"--connect-timeout", "3s", "--handshake-timeout", "3s", "--log-format", "json")
	n.proc.waitFor(l.t, regexp.MustCompile(`"msg":"listening"`), 2, 30*time.Second)
	return n
}

// queries counts the protocol requests (v1 and v2) the notary has logged.
func (n *notary) queries() int {
	s := n.proc.out.String()
	return countLines(s, `"msg":"request"`, `"kind":"v2"`) + countLines(s, `"msg":"request"`, `"kind":"v1"`)
}

// site is a labpeer site process: a real TLS server.
type site struct {
	proc   *proc
	record string // JSON lines, one per request received
}

// startSite runs a TLS site in role's namespace on addr:443. certs are rotated per
// handshake; vhosts maps SNI names to their own certificates.
// extra are more labpeer site flags, such as --delay.
func (l *lab) startSite(role, label string, addr netip.Addr, certs []leafCert, vhosts map[string]leafCert, extra ...string) *site {
	l.t.Helper()
	s := &site{record: filepath.Join(l.dir, label+".requests")}
	args := []string{"site", "--label", label, "--record", s.record, "--listen", net.JoinHostPort(addr.String(), "443")}
	args = append(args, extra...)
	for _, c := range certs {
		args = append(args, "--cert", c.pair())
	}
	for name, c := range vhosts {
		args = append(args, "--vhost", name+"="+c.pair())
	}
	s.proc = l.startIn(l.host(role).ns, label, os.Environ(), bins.peer, args...)
	s.proc.waitFor(l.t, listeningRE, 1, 20*time.Second)
	return s
}

// requests returns what the site received so far.
func (s *site) requests(t *testing.T) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(s.record)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var reqs []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad record line %q: %v", line, err)
		}
		reqs = append(reqs, m)
	}
	return reqs
}

// liar is a labpeer liar: a notary that vouches for everything, with valid signatures.
type liar struct {
	notary
	asked *site // its record of the queries it received (no site runs)
}

// startLiar runs a lying notary in role's namespace and waits for its bundle.
func (l *lab) startLiar(role, name string) *liar {
	l.t.Helper()
	h := l.host(role)
	lr := &liar{notary: notary{name: name, host: role + ".notary.test", bundle: filepath.Join(l.dir, role+".notary")}}
	l.name(lr.host, h.v4, h.v6)
	lr.asked = &site{record: filepath.Join(l.dir, role+".requests")}
	lr.proc = l.startIn(h.ns, role, os.Environ(), bins.peer, "liar", "--listen", ":443", "--host", lr.host,
		"--name", name, "--bundle", lr.bundle, "--record", lr.asked.record)
	lr.proc.waitFor(l.t, listeningRE, 1, 20*time.Second)
	return lr
}
