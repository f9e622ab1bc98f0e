package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testtarget"
	"github.com/convergence-ng/convergence/notary/protocol"
)

func TestV2Answers(t *testing.T) {
	cert := testtarget.NewCert(t, "127.0.0.1")
	site := testtarget.StartSite(t, "127.0.0.1:0", cert)
	dead := testtarget.DeadPort(t)
	e := newEnv(t, envOpts{allow: true, ports: []int{site.Port(), portOf(dead)}, handshake: 300 * time.Millisecond})

	code, a := e.v2("127.0.0.1", site.Port(), fp256(cert))
	if code != http.StatusOK || a.Status != protocol.StatusConfirmed || len(a.Observations) != 1 || a.Observations[0].SHA256 != fp256(cert) {
		t.Fatalf("confirmed: %d %+v", code, a)
	}
	if c, ok := a.Check(protocol.CheckNetwork); !ok || c.Verdict != protocol.VerdictAgree || !c.Deciding {
		t.Fatalf("network check %+v", c)
	}
	if a.Window != 3600 || time.Since(time.Unix(a.Time, 0)) > time.Minute {
		t.Fatalf("window %d time %d", a.Window, a.Time)
	}
	if code, a := e.v2("127.0.0.1", site.Port(), protocol.SHA256Fingerprint([]byte("x"))); code != http.StatusOK || a.Status != protocol.StatusMismatch {
		t.Fatalf("mismatch: %d %+v", code, a)
	}
	if code, a := e.v2("127.0.0.1", site.Port(), ""); code != http.StatusOK || a.Status != protocol.StatusInconclusive || len(a.Observations) != 1 {
		t.Fatalf("no fingerprint: %d %+v", code, a)
	}
	if code, a := e.v2("127.0.0.1", portOf(dead), fp256(cert)); code != http.StatusOK || a.Status != protocol.StatusUnreachable {
		t.Fatalf("unreachable: %d %+v", code, a)
	}
	if code, _ := e.v2("10.0.0.1", 443, fp256(cert)); code != http.StatusForbidden {
		t.Fatalf("private target: %d, want 403", code)
	}
	nonce := strings.Repeat("ab", 16)
	for _, tc := range []struct {
		method, body string
		want         int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, `{"host":`, http.StatusBadRequest},
		{http.MethodPost, `{"host":"127.0.0.1","port":443}`, http.StatusBadRequest},
		{http.MethodPost, `{"host":"127.0.0.1","port":443,"nonce":"` + nonce + `","extra":1}`, http.StatusBadRequest},
		{http.MethodPost, `{"host":"` + strings.Repeat("a", protocol.MaxV2RequestSize) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		code, body, _ := e.do(tc.method, protocol.V2Path, "application/json", tc.body)
		if code != tc.want || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s %.40q: %d %s, want %d with a JSON error", tc.method, tc.body, code, body, tc.want)
		}
	}
}
