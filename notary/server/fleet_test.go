package server

import (
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// A target that no member can reach is probed once across the fleet too: the members
// waiting for the probe answer with its outcome (unreachable) instead of probing in turn.
// The target holds the probe's connection until every client waits for it (the gauges
// say so), then closes it: the one probe fails, and nobody asked after it ended.
func TestFleetSingleFlightUnreachable(t *testing.T) {
	url := pg.Database(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepts atomic.Int64
	held := make(chan net.Conn, 16)
	go func() { // ends when the listener closes
		defer close(held)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			held <- c // no TLS: the handshake fails when the test closes c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	var members []*env
	for range 4 {
		members = append(members, newEnv(t, envOpts{allow: true, ports: []int{port}, pgURL: url, handshake: 30 * time.Second}))
	}
	const clients = 40
	var wg sync.WaitGroup
	codes := make([]int, clients)
	statuses := make([]protocol.Status, clients)
	for i := range clients {
		wg.Go(func() {
			codes[i], statuses[i] = statusOf(members[i%len(members)].v2("127.0.0.1", port, strings.Repeat("ab", 32)))
		})
	}
	// Bounded wait (30 s, polled) until all 40 wait for a probe and 3 members for another's.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting, fleet int64
		for _, m := range members {
			waiting += m.n.Metrics().waiting.Load()
			fleet += m.n.Metrics().fleetWait.Load()
		}
		if waiting == clients && fleet == int64(len(members)-1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, %d queries wait for a probe and %d members for another's; want %d and %d", waiting, fleet, clients, len(members)-1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	go func() { // ends when the listener closes (held is closed then)
		for c := range held {
			c.Close()
		}
	}()
	wg.Wait()
	for i := range clients {
		if codes[i] != http.StatusOK || statuses[i] != protocol.StatusUnreachable {
			t.Errorf("client %d: %d %s", i, codes[i], statuses[i])
		}
	}
	var probes uint64
	for _, m := range members {
		probes += m.n.Metrics().probes.value("unreachable")
	}
	if probes != 1 {
		t.Fatalf("%d probes (%d connections at the target); want 1", probes, accepts.Load())
	}
}
