package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// fleet is the shared parts of a fleet test: the database, the key every member loads
// from its copy of one key directory, and the flags every member gets.
type fleet struct {
	bin, url, keyDir string
	id               *keys.Identity
	client           *http.Client
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	f := newFleetKey(t)
	f.url = pg.Database(t)
	return f
}

// newFleetKey makes the fleet's key with the real binary's keygen.
func newFleetKey(t *testing.T) *fleet {
	t.Helper()
	f := &fleet{bin: sharedBinary(t), keyDir: filepath.Join(t.TempDir(), "key")}
	if out, err := exec.Command(f.bin, "keygen", "--key-dir", f.keyDir, "--host", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v: %s", err, out)
	}
	id, err := keys.Load(f.keyDir)
	if err != nil {
		t.Fatal(err)
	}
	f.id, f.client = id, pinnedTo(id.Cert)
	return f
}

// member starts one fleet member on its own data directory.
func (f *fleet) member(t *testing.T, extra ...string) *proc {
	t.Helper()
	args := append([]string{"--data", t.TempDir(), "--store", f.url, "--key-dir", f.keyDir, "--host", "127.0.0.1",
		"--allow-target", "127.0.0.0/8", "--rate", "0"}, extra...)
	return startNotary(t, f.bin, nil, args...)
}

func (f *fleet) ask(t *testing.T, p *proc, port int, sha256 string) (int, protocol.Status) {
	t.Helper()
	code, st, err := askV2(context.Background(), f.client, p.addr, port, sha256, f.id.V2Signer.Public())
	if err != nil {
		t.Errorf("ask %s: %v", p.addr, err)
	}
	return code, st
}

// Two real processes on one PostgreSQL database: what one probed answers the other, and
// a burst of questions across both about a new target makes one probe, counted at the
// target. Both sign with the one key (the answers verify with it).
func TestFleetTwoProcesses(t *testing.T) {
	f := newFleet(t)
	one, two := testtarget.NewCert(t, "127.0.0.1"), testtarget.NewCert(t, "127.0.0.1")
	first, burst := testtarget.StartSite(t, "127.0.0.1:0", one), testtarget.StartSite(t, "127.0.0.1:0", two)
	ports := []string{"--allow-port", strconv.Itoa(first.Port()), "--allow-port", strconv.Itoa(burst.Port())}
	a, b := f.member(t, ports...), f.member(t, ports...)

	if code, st := f.ask(t, a, first.Port(), protocol.SHA256Fingerprint(one.Certificate[0])); code != http.StatusOK || st != protocol.StatusConfirmed {
		t.Fatalf("A: %d %s", code, st)
	}
	if code, st := f.ask(t, b, first.Port(), protocol.SHA256Fingerprint(one.Certificate[0])); code != http.StatusOK || st != protocol.StatusConfirmed {
		t.Fatalf("B after A's probe: %d %s", code, st)
	}
	if n := first.Handshakes(); n != 1 {
		t.Fatalf("the first target saw %d handshakes, want 1: B answered from A's probe", n)
	}

	f.burst(t, []*proc{a, b}, 40, burst, two)
	a.stop()
	b.stop()
	if logs := a.allLogs() + b.allLogs(); strings.Contains(logs, `"client"`) {
		t.Errorf("a member logged a client address:\n%s", logs)
	}
}

// 100 clients asking 4 real processes at once about a new target cause one probe.
func TestFleetFourProcessesOneProbe(t *testing.T) {
	f := newFleet(t)
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	var members []*proc
	for range 4 {
		members = append(members, f.member(t, "--allow-port", strconv.Itoa(site.Port())))
	}
	f.burst(t, members, 100, site, cert)
}

// burst sends clients questions at once, spread over members, about site's certificate
// cert; every answer must confirm it, and the site must see one handshake.
func (f *fleet) burst(t *testing.T, members []*proc, clients int, site *testtarget.Site, cert tls.Certificate) {
	t.Helper()
	var wg sync.WaitGroup
	codes, statuses := make([]int, clients), make([]protocol.Status, clients)
	for i := range clients {
		wg.Go(func() {
			codes[i], statuses[i] = f.ask(t, members[i%len(members)], site.Port(), protocol.SHA256Fingerprint(cert.Certificate[0]))
		})
	}
	wg.Wait()
	for i := range clients {
		if codes[i] != http.StatusOK || statuses[i] != protocol.StatusConfirmed {
			t.Errorf("client %d: %d %s", i, codes[i], statuses[i])
		}
	}
	if n := site.Handshakes(); n != 1 {
		t.Fatalf("a burst of %d across %d members: the target saw %d handshakes, want 1", clients, len(members), n)
	}
}

// A member killed (SIGKILL) while it holds a target's probe lease loses nothing: its
// lease expires, another member takes it over, probes and answers, and gives the lease
// back.
func TestFleetKillMidProbe(t *testing.T) {
	f := newFleet(t)
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	stalled := site.StallNext(1) // A's handshake hangs: A is mid-probe while it stalls
	flags := []string{"--allow-port", strconv.Itoa(site.Port()), "--probe-lease", "2s", "--handshake-timeout", "30s"}
	a, b := f.member(t, flags...), f.member(t, flags...)
	fp := protocol.SHA256Fingerprint(cert.Certificate[0])

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	aDone := make(chan struct{})
	go func() { // ends when A dies: its client gets an error
		defer close(aDone)
		_, _, _ = askV2(ctx, f.client, a.addr, site.Port(), fp, f.id.V2Signer.Public())
	}()
	select {
	case <-stalled:
	case <-ctx.Done():
		t.Fatalf("A never reached the target:\n%s", a.allLogs())
	}
	target := "127.0.0.1:" + strconv.Itoa(site.Port())
	holder := leaseHolder(t, f.url, target)
	if !strings.Contains(holder, "/"+strconv.Itoa(a.cmd.Process.Pid)+"/") {
		t.Fatalf("the lease on %s is held by %q, not A (pid %d)", target, holder, a.cmd.Process.Pid)
	}
	a.kill()
	<-aDone

	if code, st := f.ask(t, b, site.Port(), fp); code != http.StatusOK || st != protocol.StatusConfirmed {
		t.Fatalf("B after A died mid-probe: %d %s\n%s", code, st, b.allLogs())
	}
	if n := site.Handshakes(); n != 1 {
		t.Errorf("target saw %d completed handshakes, want B's one", n)
	}
	if h := leaseHolder(t, f.url, target); h != "" {
		t.Errorf("lease left behind after B's probe: %q", h)
	}
	// B took the probe over: it ran it, it did not join one.
	resp, err := f.client.Get("https://" + b.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(m), `convergence_notary_probes_total{result="ok"} 1`+"\n") || strings.Contains(string(m), `scope="fleet"`) {
		t.Errorf("B's metrics do not show its own probe:\n%s", m)
	}
}

// leaseHolder reads who holds the probe lease on target ("" for no one).
func leaseHolder(t *testing.T, url, target string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var h string
	err = c.QueryRow(ctx, `SELECT holder FROM probe_leases WHERE target = $1`, target).Scan(&h)
	if err != nil && err != pgx.ErrNoRows {
		t.Fatal(err)
	}
	return h
}

// The bundle of a fleet comes from its key directory, which it reads and never fills.
func TestBundleFromKeyDir(t *testing.T) {
	f := newFleetKey(t)
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"bundle", "--key-dir", f.keyDir, "--name", "Fleet", "--host", "127.0.0.1"}, &out, &errb); code != 0 {
		t.Fatalf("bundle: exit %d: %s", code, errb.String())
	}
	b, err := protocol.ParseBundle([]byte(out.String()))
	if err != nil || !b.Hosts[0].Certificate.Equal(f.id.Cert) {
		t.Fatalf("bundle %v does not pin the fleet's certificate: %s", err, out.String())
	}
	empty := t.TempDir()
	if code := run(context.Background(), []string{"bundle", "--key-dir", empty, "--name", "Fleet", "--host", "127.0.0.1"}, &out, &errb); code == 0 {
		t.Fatal("bundle made a key in an empty --key-dir")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("bundle wrote %d files into --key-dir", len(entries))
	}
}
