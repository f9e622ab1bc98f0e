package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testpg"
	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// The PostgreSQL server of a running notary stops (issue 18): a question the history in
// memory answers with a fresh sighting is still answered; one that needs the database
// gets a 503 with Retry-After, promptly, not a hang or a 500; /metrics counts the store's
// errors and says it is down; the log says what failed and what to check. When the
// server is back, the same process answers that question, with no restart.
func TestStoreOutage(t *testing.T) {
	db := testpg.Own(t)
	f := newFleetKey(t)
	f.url = db.Database(t)
	known, unknown := testtarget.NewCert(t, "127.0.0.1"), testtarget.NewCert(t, "127.0.0.1")
	kSite, uSite := testtarget.StartSite(t, "127.0.0.1:0", known), testtarget.StartSite(t, "127.0.0.1:0", unknown)
	a := f.member(t, "--allow-port", strconv.Itoa(kSite.Port()), "--allow-port", strconv.Itoa(uSite.Port()))
	kFP, uFP := protocol.SHA256Fingerprint(known.Certificate[0]), protocol.SHA256Fingerprint(unknown.Certificate[0])
	if code, st := f.ask(t, a, kSite.Port(), kFP); code != http.StatusOK || st != protocol.StatusConfirmed {
		t.Fatalf("before the outage: %d %s", code, st)
	}

	db.Stop(t)
	// Known: answered from memory, also once the history's time in memory (1 s) is over
	// and the store was asked and failed (the "stale" cache hit). Bounded: 40 tries.
	for i := 0; ; i++ {
		if code, st := f.ask(t, a, kSite.Port(), kFP); code != http.StatusOK || st != protocol.StatusConfirmed {
			t.Fatalf("a fresh answer in memory, the database down: %d %s\n%s", code, st, a.allLogs())
		}
		if strings.Contains(f.metrics(t, a), `convergence_notary_cache_hits_total{kind="stale"}`) {
			break
		}
		if i == 40 {
			t.Fatalf("the database down, no answer came from memory past its time:\n%s", f.metrics(t, a))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Unknown: needs the database. Bounded by the client's context, which must not end.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, retry, body := f.postV2(ctx, t, a, uSite.Port(), uFP)
	if code != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("a question needing the stopped database: %d, Retry-After %q, %s", code, retry, body)
	}
	if ctx.Err() != nil {
		t.Fatal("the 503 came only as the client's context ended")
	}
	m := f.metrics(t, a)
	for _, want := range []string{"convergence_notary_store_up 0\n", `convergence_notary_store_errors_total{op="history"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics during the outage lack %q:\n%s", want, m)
		}
	}
	a.waitLog("store failed")
	if logs := a.allLogs(); !strings.Contains(logs, "pg_isready") {
		t.Errorf("the log does not say what to check:\n%s", logs)
	}

	db.Start(t)
	// Back: the same process answers. Bounded: 60 tries, 200 ms apart (the store is
	// tried again once a second).
	for i := 0; ; i++ {
		code, _, body := f.postV2(ctx, t, a, uSite.Port(), uFP)
		if code == http.StatusOK {
			break
		}
		if i == 60 {
			t.Fatalf("the database back, still %d %s\n%s", code, body, a.allLogs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, st := f.ask(t, a, uSite.Port(), uFP); code != http.StatusOK || st != protocol.StatusConfirmed {
		t.Fatalf("after the outage: %d %s", code, st)
	}
	if m := f.metrics(t, a); !strings.Contains(m, "convergence_notary_store_up 1\n") {
		t.Errorf("metrics after the outage:\n%s", m)
	}
	a.waitLog("store reachable again")
	a.stop()
}

// postV2 asks a about 127.0.0.1:port and sha256 and returns the status, the
// Retry-After header and the body, unverified.
func (f *fleet) postV2(ctx context.Context, t *testing.T, a *proc, port int, sha256 string) (int, string, string) {
	t.Helper()
	req, err := protocol.NewV2Request("127.0.0.1", port, sha256)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := req.Marshal()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+a.addr+protocol.V2Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(hreq)
	if err != nil {
		t.Fatalf("ask %s: %v", a.addr, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(raw)
}

// metrics reads a's /metrics.
func (f *fleet) metrics(t *testing.T, a *proc) string {
	t.Helper()
	resp, err := f.client.Get("https://" + a.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	return string(m)
}
