package server

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// Many concurrent questions about one target make one probe, counted at the target.
func TestSingleFlight(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	const clients = 24
	var wg sync.WaitGroup
	codes := make([]int, clients)
	statuses := make([]protocol.Status, clients)
	for i := range clients {
		wg.Go(func() {
			if i%2 == 0 {
				c, a := e.v2("127.0.0.1", site.Port(), fp256(cert))
				codes[i], statuses[i] = c, a.Status
				return
			}
			c, _ := e.v1("127.0.0.1", site.Port(), fp1(cert))
			codes[i], statuses[i] = c, protocol.StatusConfirmed
		})
	}
	wg.Wait()
	for i := range clients {
		if codes[i] != http.StatusOK || statuses[i] != protocol.StatusConfirmed {
			t.Errorf("client %d: %d %s", i, codes[i], statuses[i])
		}
	}
	if n := site.Handshakes(); n != 1 {
		t.Fatalf("target saw %d handshakes for %d concurrent questions, want 1", n, clients)
	}
}

// An asker that read the store before a probe recorded, and reaches the single flight
// only after that probe's flight has ended, gets the record, not a second probe: the
// end state of the race that made TestSingleFlight see 2 handshakes under load.
func TestSingleFlightJoinedLate(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(cert)); code != http.StatusOK || site.Handshakes() != 1 {
		t.Fatalf("first question: %d after %d handshakes, want 200 after 1", code, site.Handshakes())
	}
	q := Question{Host: "127.0.0.1", Port: site.Port(), SHA1: fp1(cert)}
	if err := e.n.sharedProbe(context.Background(), q); err != nil {
		t.Fatalf("late join: %v", err)
	}
	if n := site.Handshakes(); n != 1 {
		t.Errorf("a late join probed again: %d handshakes, want 1", n)
	}
	if n := e.n.Metrics().joins.value("process"); n != 1 {
		t.Errorf("process joins %d, want 1", n)
	}
}

// A certificate counts only if seen within the window: inside it the store answers;
// after it the notary probes again; an old record alone is never a yes.
func TestFreshnessWindow(t *testing.T) {
	a, b := testtarget.NewCert(t, "127.0.0.1"), testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", a)
	dead := testtarget.DeadPort(t)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port(), portOf(dead)}})

	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(a)); code != http.StatusOK {
		t.Fatalf("first: %d", code)
	}
	e.clock.advance(50 * time.Minute)
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(a)); code != http.StatusOK || site.Handshakes() != 1 {
		t.Fatalf("inside the window: %d after %d handshakes, want 200 from the store", code, site.Handshakes())
	}
	e.clock.advance(20 * time.Minute)
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(a)); code != http.StatusOK || site.Handshakes() != 2 {
		t.Fatalf("after the window: %d after %d handshakes, want 200 after a new probe", code, site.Handshakes())
	}
	// The site rotates to b; once a's sighting is old, a is history, not a yes.
	site.SetCerts(b)
	e.clock.advance(2 * time.Hour)
	code, ans := e.v1("127.0.0.1", site.Port(), fp1(a))
	if code != http.StatusConflict || !ans.Has(fp1(a)) || !ans.Has(fp1(b)) || ans.Fingerprints[0].Fingerprint != fp1(b) {
		t.Fatalf("after rotation: %d %+v, want 409 listing b first and a as history", code, ans)
	}
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(b)); code != http.StatusOK {
		t.Fatalf("rotated certificate: %d", code)
	}
	// A site that goes down: its old record does not vouch (the original said 200 forever).
	site.Close()
	e.clock.advance(2 * time.Hour)
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(b)); code != http.StatusServiceUnavailable {
		t.Fatalf("site down, record old: %d, want 503", code)
	}
	if code, a2 := e.v2("127.0.0.1", site.Port(), fp256(b)); code != http.StatusOK || a2.Status != protocol.StatusUnreachable || len(a2.Observations) != 2 {
		t.Fatalf("v2, site down: %d %+v", code, a2)
	}
}

// A site serving two certificates in turn (CDN, rotation): both confirmed, both kept.
func TestSeveralCertificates(t *testing.T) {
	a, b := testtarget.NewCert(t, "127.0.0.1"), testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", a, b)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}})
	if code, _ := e.v1("127.0.0.1", site.Port(), fp1(a)); code != http.StatusOK {
		t.Fatalf("a: %d", code)
	}
	if code, ans := e.v2("127.0.0.1", site.Port(), fp256(b)); code != http.StatusOK || ans.Status != protocol.StatusConfirmed || len(ans.Observations) != 2 {
		t.Fatalf("b: %d %+v", code, ans)
	}
	if code, ans := e.v1("127.0.0.1", site.Port(), fp1(a)); code != http.StatusOK || len(ans.Fingerprints) != 2 {
		t.Fatalf("a again: %d %+v", code, ans)
	}
}

// SNI is always sent: a virtual host gets its certificate; another name on the same
// address gets the default one.
func TestSNIVirtualHosts(t *testing.T) {
	def, vhost := testtarget.NewCert(t, "default.test"), testtarget.NewCert(t, "vhost.test")
	site := testtarget.StartSite(t, "127.0.0.1:0", def)
	site.SetSNI("vhost.test", vhost)
	dns := testtarget.StartDNS(t)
	dns.Add(t, "vhost.test. 60 IN A 127.0.0.1", "other.test. 60 IN A 127.0.0.1")
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, resolver: dns.Resolver()})
	if code, _ := e.v1("vhost.test", site.Port(), fp1(vhost)); code != http.StatusOK {
		t.Fatalf("vhost: %d", code)
	}
	if code, ans := e.v1("other.test", site.Port(), fp1(vhost)); code != http.StatusConflict || !ans.Has(fp1(def)) {
		t.Fatalf("other name: %d %+v", code, ans)
	}
	// The same name without the allowance is refused after resolution.
	e2 := newEnv(t, envOpts{ports: []int{site.Port()}, resolver: dns.Resolver()})
	if code, _ := e2.v1("vhost.test", site.Port(), fp1(vhost)); code != http.StatusForbidden {
		t.Fatalf("name resolving to loopback without --allow-target: %d, want 403", code)
	}
}

// IPv6: a site on ::1, by literal and by a name with an AAAA record.
func TestIPv6(t *testing.T) {
	cert := testtarget.NewCert(t, "::1", "v6.test")
	site := testtarget.StartSite(t, "[::1]:0", cert)
	dns := testtarget.StartDNS(t)
	dns.Add(t, "v6.test. 60 IN AAAA ::1")
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, resolver: dns.Resolver()})
	if code, _ := e.v1("::1", site.Port(), fp1(cert)); code != http.StatusOK {
		t.Fatalf("::1: %d", code)
	}
	if code, ans := e.v2("v6.test", site.Port(), fp256(cert)); code != http.StatusOK || ans.Status != protocol.StatusConfirmed {
		t.Fatalf("v6.test: %d %+v", code, ans)
	}
	if !slices.Contains([]int64{2}, site.Handshakes()) {
		t.Fatalf("handshakes %d, want 2 (one per target)", site.Handshakes())
	}
}
