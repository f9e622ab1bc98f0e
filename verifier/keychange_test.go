package verifier

import (
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

func TestCompareKeys(t *testing.T) {
	raw, b := realNotaryBundle(t, "Same")
	stored := settings.Notary{Name: b.Name, Bundle: raw}
	for _, h := range b.Hosts {
		stored.Hosts = append(stored.Hosts, settings.NotaryHost{Host: h.Host, SSLPort: h.SSLPort, HTTPPort: h.HTTPPort, CertificatePEM: h.CertificatePEM})
	}
	if kc := CompareKeys(stored, b); kc.Changed || len(kc.Old) != 2 || strings.Join(kc.Old, "|") != strings.Join(kc.New, "|") {
		t.Fatalf("the same bundle: %+v", kc)
	}
	_, other := realNotaryBundle(t, "Same") // another key, same host
	kc := CompareKeys(stored, other)
	if !kc.Changed || !strings.HasPrefix(kc.Old[0], "host ") || kc.Old[1] == kc.New[1] ||
		kc.New[1] != "certificate sha256 "+protocol.SHA256Fingerprint(other.Hosts[0].Certificate.Raw) {
		t.Fatalf("another key: %+v", kc)
	}
}
