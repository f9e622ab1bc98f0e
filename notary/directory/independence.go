package directory

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// Facts are what says whether two notaries are independent: who runs them, where, on
// which network, on which hosts and addresses. "" and nil are unknown, and unknown is
// never shared. This is the one home of the rule: the chooser, the warnings and the
// consensus (verifier's grouping) all read Shared.
type Facts struct {
	Name      string
	Operator  string
	Country   string
	Network   string
	Hosts     []string // normalised host names, IP literals included
	Addresses []string // IP addresses: the IP-literal hosts, and any the caller resolved
}

// FactsOfBundle returns what a bundle alone says: its name, hosts and IP-literal
// addresses, and its region as the country.
func FactsOfBundle(b protocol.Bundle) Facts {
	f := Facts{Name: b.Name, Country: b.Region}
	for _, h := range b.Hosts {
		f.AddHost(h.Host, h.SSLPort)
	}
	return f
}

// AddHost records a host of the notary: its name, and its address when the name is
// an IP literal. A loopback host (127.0.0.0/8, ::1, localhost) is recorded with its
// port: notaries on the user's own machine (tests, a demonstration) are told apart by
// port, where a notary on the network is one machine per address whatever its port.
func (f *Facts) AddHost(host string, port int) {
	name, addr := host, ""
	a, err := netip.ParseAddr(host)
	switch {
	case err == nil && a.Unmap().IsLoopback():
		name = netip.AddrPortFrom(a.Unmap(), uint16(port)).String()
		addr = name
	case err == nil:
		addr = a.Unmap().String()
	case strings.EqualFold(host, "localhost"):
		name = fmt.Sprintf("localhost:%d", port)
	}
	if !slices.Contains(f.Hosts, name) {
		f.Hosts = append(f.Hosts, name)
	}
	if addr != "" && !slices.Contains(f.Addresses, addr) {
		f.Addresses = append(f.Addresses, addr)
	}
}

// FactsOf returns what a directory entry says of its notary.
func FactsOf(e Entry) Facts {
	f := FactsOfBundle(e.Bundle)
	f.Operator, f.Country, f.Network = e.Operator, e.Country, e.Network
	return f
}

// Trait kinds, in the order Shared lists them.
const (
	TraitHost     = "host"
	TraitAddress  = "address"
	TraitOperator = "operator"
	TraitNetwork  = "network"
)

// Trait is one thing two notaries have in common.
type Trait struct {
	Kind  string // TraitHost, TraitAddress, TraitOperator or TraitNetwork
	Value string
}

func (t Trait) String() string { return t.Kind + " " + t.Value }

// Shared lists what a and b have in common that makes them one notary as far as an
// attacker is concerned: a host, an address, an operator or a network (compared
// without regard to case). A country in common is not among them: the chooser
// prefers other countries, but two operators in one country are still two.
func Shared(a, b Facts) []Trait {
	var out []Trait
	for _, h := range a.Hosts {
		if slices.Contains(a.Addresses, h) {
			continue // an IP literal is an address: listed below, once
		}
		if slices.Contains(b.Hosts, h) {
			out = append(out, Trait{TraitHost, h})
		}
	}
	for _, x := range a.Addresses {
		if slices.Contains(b.Addresses, x) {
			out = append(out, Trait{TraitAddress, x})
		}
	}
	if same(a.Operator, b.Operator) {
		out = append(out, Trait{TraitOperator, a.Operator})
	}
	if same(a.Network, b.Network) {
		out = append(out, Trait{TraitNetwork, a.Network})
	}
	return out
}

func same(a, b string) bool { return a != "" && strings.EqualFold(a, b) }

// Overlap is a pair of notaries that are not independent, and why.
type Overlap struct {
	A, B   string
	Shared []Trait
}

// Warning says in plain words what the overlap means.
func (o Overlap) Warning() string {
	parts := make([]string, len(o.Shared))
	for i, t := range o.Shared {
		parts[i] = t.String()
	}
	return fmt.Sprintf("%q and %q share %s: these two are one notary as far as an attacker is concerned, and count as one vote",
		o.A, o.B, strings.Join(parts, ", "))
}

// Overlaps lists every pair of fs that shares something (Shared), in the order of fs.
func Overlaps(fs []Facts) []Overlap {
	var out []Overlap
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			if s := Shared(fs[i], fs[j]); len(s) > 0 {
				out = append(out, Overlap{A: fs[i].Name, B: fs[j].Name, Shared: s})
			}
		}
	}
	return out
}

// Groups partitions fs into sets of notaries that are one as far as an attacker is
// concerned: two notaries sharing anything (Shared) are in one group, and so,
// transitively, are the ones sharing with either. It returns each notary's group as
// the name of the group's first member in fs order.
func Groups(fs []Facts) map[string]string {
	parent := make([]int, len(fs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			if len(Shared(fs[i], fs[j])) > 0 {
				a, b := find(i), find(j)
				if a > b {
					a, b = b, a
				}
				parent[b] = a
			}
		}
	}
	out := make(map[string]string, len(fs))
	for i, f := range fs {
		out[f.Name] = fs[find(i)].Name
	}
	return out
}
