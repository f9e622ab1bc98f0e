package verifier

import (
	"maps"
	"slices"
	"strings"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// KeyChange is how a bundle's hosts and keys compare with those of the notary trusted
// under its name: what decides whom the answers come from (keysOf), old and new, one
// line each ("host notary.example.org:443", "certificate sha256 ...", "v2 signing key
// ..."), sorted. A bundle with a known name but other hosts or keys is no routine
// update: it may be a rotation, or an impostor taking the name.
type KeyChange struct {
	Name     string
	Old, New []string
	Changed  bool
}

// CompareKeys compares b with the stored notary n (of the same name). Pure.
func CompareKeys(n settings.Notary, b protocol.Bundle) KeyChange {
	old, cur := keysOf(n), keysOfBundle(b)
	return KeyChange{Name: n.Name, Old: keyLines(old), New: keyLines(cur), Changed: !maps.Equal(old, cur)}
}

// keyLines words keysOf's keys, sorted with the hosts first.
func keyLines(keys map[string]bool) []string {
	var out []string
	for k := range keys {
		kind, v, _ := strings.Cut(k, ":")
		switch kind {
		case "host":
			out = append(out, "host "+v)
		case "cert":
			out = append(out, "certificate sha256 "+v)
		case "v2":
			out = append(out, "v2 signing key "+strings.Join(strings.Fields(v), " "))
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if ha, hb := strings.HasPrefix(a, "host "), strings.HasPrefix(b, "host "); ha != hb {
			if ha {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}
