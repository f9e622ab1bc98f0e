package server

import (
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testpg"
	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

var pg testpg.Server

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// 100 clients asking 4 notaries that share one PostgreSQL database about one new target
// at once cause one probe, counted at the target; every client gets a confirmation.
func TestFleetSingleFlight(t *testing.T) {
	url := pg.Database(t)
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	var members []*env
	for range 4 {
		members = append(members, newEnv(t, envOpts{allow: true, ports: []int{site.Port()}, pgURL: url}))
	}
	const clients = 100
	var wg sync.WaitGroup
	codes := make([]int, clients)
	statuses := make([]protocol.Status, clients)
	for i := range clients {
		wg.Go(func() {
			codes[i], statuses[i] = statusOf(members[i%len(members)].v2("127.0.0.1", site.Port(), fp256(cert)))
		})
	}
	wg.Wait()
	for i := range clients {
		if codes[i] != http.StatusOK || statuses[i] != protocol.StatusConfirmed {
			t.Errorf("client %d: %d %s", i, codes[i], statuses[i])
		}
	}
	if n := site.Handshakes(); n != 1 {
		t.Fatalf("target saw %d handshakes for %d clients on %d members, want 1", n, clients, len(members))
	}
	var probes, others uint64
	for _, m := range members {
		mt := m.n.Metrics()
		probes += mt.probes.value("ok")
		others += mt.joins.value("process") + mt.joins.value("fleet") + mt.cacheHits.value("history")
	}
	if probes != 1 || others != clients-1 {
		t.Errorf("metrics: %d probes and %d answers without one, want 1 and %d", probes, others, clients-1)
	}
}

func statusOf(code int, a protocol.V2Answer) (int, protocol.Status) { return code, a.Status }
