package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// nsPrefix starts the name of every namespace this suite makes; the process id after it
// lets a later run find the leftovers of a run that crashed.
const nsPrefix = "cvge2e-"

// netnsDir is where `ip netns exec` finds per-namespace files such as hosts.
const netnsDir = "/etc/netns"

// The lab's addresses: one shared link (a bridge in the "inet" namespace), IPv4 from
// TEST-NET-2 and IPv6 from a ULA prefix, all inside namespaces the test makes.
const (
	lanV4 = "198.51.100.%d"
	lanV6 = "fd00:c0e2:e::%d"
)

var labSeq atomic.Int32

// lab is one test's small internet: an "inet" namespace holding a bridge, and one
// namespace per host (client, notaries, sites) linked to it by a veth pair.
type lab struct {
	t     *testing.T
	id    string // namespace name prefix for this lab
	dir   string // certificates, data dirs, logs
	inet  string
	hosts map[string]*host
	names map[string][]netip.Addr // name resolution, the same in every namespace
}

// host is one namespace with its own addresses.
type host struct {
	role string
	ns   string
	v4   netip.Addr
	v6   netip.Addr
}

// labUnavailable says why namespaces cannot be used here, or "" when they can.
func labUnavailable() string {
	if os.Geteuid() != 0 {
		return "the attack scenarios need root for network namespaces (CI runs them as root)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "the attack scenarios need iproute2's ip command"
	}
	name := fmt.Sprintf("%s%d-probe", nsPrefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Sprintf("ip netns does not work here: %v: %s", err, out)
	}
	_ = exec.Command("ip", "netns", "del", name).Run()
	return ""
}

// removeLeftovers deletes the namespaces (and their processes and /etc/netns files)
// and the binaries of earlier runs of this suite whose process is gone.
func removeLeftovers() {
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			if deadRun(name) {
				deleteNamespace(name)
			}
		}
	}
	if dirs, err := filepath.Glob(filepath.Join(os.TempDir(), nsPrefix+"*-bin-*")); err == nil {
		for _, d := range dirs {
			if deadRun(filepath.Base(d)) {
				_ = os.RemoveAll(d)
			}
		}
	}
}

// deadRun reports whether name was made by a run of this suite that has ended: it
// starts with nsPrefix and the process id after it no longer runs.
func deadRun(name string) bool {
	rest, ok := strings.CutPrefix(name, nsPrefix)
	if !ok {
		return false
	}
	pidText, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid == os.Getpid() {
		return false
	}
	_, err = os.Stat(fmt.Sprintf("/proc/%d", pid))
	return os.IsNotExist(err)
}

// deleteNamespace kills what still runs in ns (processes of this suite), deletes it and
// its /etc/netns directory.
func deleteNamespace(ns string) {
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = exec.Command("ip", "netns", "del", ns).Run()
	_ = os.RemoveAll(filepath.Join(netnsDir, ns))
}

// newLab makes the inet namespace and one host namespace per role, in that order of
// addresses: roles[i] gets .10+i. Everything is deleted when the test ends.
func newLab(t *testing.T, roles ...string) *lab {
	t.Helper()
	requireLab(t)
	l := &lab{t: t, id: fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), labSeq.Add(1)), dir: t.TempDir(),
		hosts: map[string]*host{}, names: map[string][]netip.Addr{}}
	l.inet = l.id + "-inet"
	var made []string
	t.Cleanup(func() {
		for _, ns := range made {
			deleteNamespace(ns)
		}
	})
	l.ip("netns", "add", l.inet)
	made = append(made, l.inet)
	l.ip("-n", l.inet, "link", "set", "lo", "up")
	l.ip("-n", l.inet, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.inet, "link", "set", "br0", "up")
	for i, role := range roles {
		h := &host{role: role, ns: l.id + "-" + role,
			v4: netip.MustParseAddr(fmt.Sprintf(lanV4, 10+i)), v6: netip.MustParseAddr(fmt.Sprintf(lanV6, 10+i))}
		l.ip("netns", "add", h.ns)
		made = append(made, h.ns)
		if err := os.MkdirAll(filepath.Join(netnsDir, h.ns), 0o755); err != nil {
			t.Fatalf("failed to make %s: %v", netnsDir, err)
		}
		// No DNS server exists in the lab: lookups of unknown names fail at once on the
		// namespace's own loopback instead of leaving it.
		l.writeFile(filepath.Join(netnsDir, h.ns, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
		outer := fmt.Sprintf("v%d", i)
		l.ip("-n", l.inet, "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		l.ip("-n", l.inet, "link", "set", outer, "master", "br0")
		l.ip("-n", l.inet, "link", "set", outer, "up")
		l.ip("-n", h.ns, "link", "set", "lo", "up")
		// Answer ARP only for the addresses of the link asked on: without it, a host that
		// holds another's address on its loopback (a hijacker) would answer for it on
		// the shared link and draw everyone's traffic, not only its own.
		l.sysctl(h.ns, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
		l.ip("-n", h.ns, "addr", "add", h.v4.String()+"/24", "dev", "eth0")
		l.ip("-n", h.ns, "addr", "add", h.v6.String()+"/64", "dev", "eth0", "nodad")
		l.ip("-n", h.ns, "link", "set", "eth0", "up")
		l.hosts[role] = h
	}
	return l
}

// ip runs the ip command and fails the test if it fails.
func (l *lab) ip(args ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// sysctl sets kernel settings of namespace ns (network settings are per namespace).
func (l *lab) sysctl(ns string, settings ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"netns", "exec", ns, "sysctl", "-q", "-w"}, settings...)
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("sysctl in %s: %v: %s", ns, err, out)
	}
}

func (l *lab) writeFile(path, text string) {
	l.t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		l.t.Fatalf("failed to write %s: %v", path, err)
	}
}

// host returns the host of role.
func (l *lab) host(role string) *host {
	h, ok := l.hosts[role]
	if !ok {
		l.t.Fatalf("no host %q in the lab", role)
	}
	return h
}

// addAddr gives role's host one more address on its link (a site's service address).
func (l *lab) addAddr(role string, a netip.Addr) {
	l.t.Helper()
	bits := "/24"
	extra := []string{}
	if a.Is6() {
		bits, extra = "/64", []string{"nodad"}
	}
	l.ip(append([]string{"-n", l.host(role).ns, "addr", "add", a.String() + bits, "dev", "eth0"}, extra...)...)
}

// hijack puts a on role's own loopback: from then on, that host (and only it) reaches
// whatever listens there in its namespace instead of the real owner of a behind the link.
func (l *lab) hijack(role string, a netip.Addr) {
	l.t.Helper()
	bits := "/32"
	extra := []string{}
	if a.Is6() {
		// nodad: without it a new IPv6 address is "tentative" until the kernel's DAD work
		// runs (asynchronously, even on lo), and a bind made before that fails with
		// "cannot assign requested address" (seen once under load in scenario 12).
		bits, extra = "/128", []string{"nodad"}
	}
	l.ip(append([]string{"-n", l.host(role).ns, "addr", "add", a.String() + bits, "dev", "lo"}, extra...)...)
}

// dropFrom makes role's host silently drop every packet it would send to peer: peer's
// connections get no answer at all (no RST, no ICMP), as behind a broken firewall.
func (l *lab) dropFrom(role, peer string) {
	l.t.Helper()
	p := l.host(peer)
	l.ip("-n", l.host(role).ns, "route", "add", "blackhole", p.v4.String()+"/32")
	l.ip("-n", l.host(role).ns, "-6", "route", "add", "blackhole", p.v6.String()+"/128")
}

// name makes name resolve to addrs in every namespace of the lab. Call it before
// starting the processes that look the name up (`ip netns exec` reads hosts at start).
func (l *lab) name(name string, addrs ...netip.Addr) {
	l.names[name] = append(l.names[name], addrs...)
	var b strings.Builder
	b.WriteString("127.0.0.1 localhost\n::1 localhost\n")
	keys := make([]string, 0, len(l.names))
	for k := range l.names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, a := range l.names[k] {
			fmt.Fprintf(&b, "%s %s\n", a, k)
		}
	}
	for _, h := range l.hosts {
		l.writeFile(filepath.Join(netnsDir, h.ns, "hosts"), b.String())
	}
}
