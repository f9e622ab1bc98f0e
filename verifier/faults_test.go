package verifier

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// The faults here complete the misbehaving notaries of scriptednotary_test.go (hung,
// garbage, wrong signature, wrong pin, just over the size limit, slow drip, skewed
// clock, wrong nonce): a notary that resets mid-answer, one that streams megabytes,
// and validly signed answers that answer another question (replays).

// addFault starts a real HTTPS notary on loopback whose handler is serve (given the
// honest notary it wraps, whose answer it may use), and imports its bundle.
func (e *env) addFault(name string, serve func(n *testNotary, w http.ResponseWriter, r *http.Request)) *testNotary {
	e.t.Helper()
	key, cert := newKeyCert(e.t, name)
	n := &testNotary{t: e.t, name: name, mode: modeHonest, key: key, cert: cert, sees: e.real,
		seenFrom: time.Now().Add(-30 * 24 * time.Hour), entered: make(chan struct{}, 64), release: make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.requests.Add(1)
		serve(n, w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the faults break connections on purpose
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}}
	srv.StartTLS()
	n.srv = srv
	e.t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	e.importNotary(n)
	return n
}

// resetConn makes the connection under w end with a TCP reset: the hijacked TLS
// connection's socket closes with SO_LINGER 0.
func resetConn(t testing.TB, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*tls.Conn); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			tcp.SetLinger(0)
		}
	}
	conn.Close()
}

// checkFaulty verifies the real and the attacker's certificate beside one honest
// notary, under the default majority (newFaultEnv): the faulty notary's answer must be
// of kind want with err in its message, and it is never a yes: the real certificate
// lacks the faulty notary's vote (undecided, or rejected when the answer was
// unauthentic), and the fake one never passes.
func checkFaulty(t *testing.T, e *env, want AnswerKind, errPart string) {
	t.Helper()
	vd := e.verify(e.real)
	if a := answerOf(t, vd, "faulty"); a.Kind != want || !strings.Contains(a.Err, errPart) {
		t.Fatalf("faulty notary's answer %s %q, want %s containing %q", a.Kind, a.Err, want, errPart)
	}
	// The faulty answer is always heard: until it is in, it could make 2 of 2.
	if vd.Allowed() || vd.Undecided != (want != AnswerUnauthentic) {
		t.Fatalf("real certificate: allowed %v, undecided %v (%s); want rejected for want of the faulty notary's vote", vd.Allowed(), vd.Undecided, vd.Reason)
	}
	fake := e.verify(e.fake)
	if fake.Allowed() {
		t.Fatalf("attacker's certificate allowed: %+v", fake)
	}
	if a := answerOf(t, fake, "faulty"); a.Kind == AnswerAgree {
		t.Fatalf("faulty notary vouched for the attacker's certificate: %+v", a)
	}
}

func newFaultEnv(t *testing.T) *env {
	e := newEnv(t, func(s *settings.Settings) { s.CacheTTL = 0 })
	e.start(Config{QueryTimeout: 5 * time.Second})
	e.add("honest", modeHonest)
	return e
}

// TestNotaryResetsMidAnswer: the notary sends the status line, half its body and then
// a TCP reset. The answer is unreachable, never a truncated yes.
func TestNotaryResetsMidAnswer(t *testing.T) {
	e := newFaultEnv(t)
	e.addFault("faulty", func(n *testNotary, w http.ResponseWriter, r *http.Request) {
		body, status := n.answer(r)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		resetConn(t, w)
	})
	checkFaulty(t, e, AnswerUnreachable, "failed to read answer")
}

// TestNotaryResetsBeforeAnswer: the notary reads the request and resets the
// connection without a byte of answer.
func TestNotaryResetsBeforeAnswer(t *testing.T) {
	e := newFaultEnv(t)
	e.addFault("faulty", func(n *testNotary, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		resetConn(t, w)
	})
	checkFaulty(t, e, AnswerUnreachable, "")
}

// TestNotaryAnswersMegabytes: the notary streams 64 MiB of JSON without a length.
// The client reads just past the limit and hangs up: the notary could not send it all.
func TestNotaryAnswersMegabytes(t *testing.T) {
	const total = 64 << 20
	var sent atomic.Int64
	e := newFaultEnv(t)
	faulty := e.addFault("faulty", func(n *testNotary, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"version":2,"pad":"`))
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for sent.Load() < total {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
		}
	})
	checkFaulty(t, e, AnswerInvalid, "too large")
	// Every handler has ended once the server is closed: a WaitGroup counted in the
	// handler raced with its Wait when a late query (the follow-up after the verdict)
	// came in after it.
	faulty.srv.CloseClientConnections()
	faulty.srv.Close()
	if got := sent.Load(); got >= total {
		t.Errorf("the notary sent all %d bytes: the client read them all", got)
	}
	t.Logf("the notary got %d bytes out before the client hung up (two queries)", sent.Load())
}

// TestNotaryReplaysAnswer: the notary (or whoever holds its TLS key but not its
// signing key) replays a validly signed answer it gave before, for another site: the
// nonce gives it away, and the answer is unauthentic. The first answer is about
// other.example.
func TestNotaryReplaysAnswer(t *testing.T) {
	e := newFaultEnv(t)
	var mu sync.Mutex
	var kept []byte
	e.addFault("faulty", func(n *testNotary, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != protocol.V2Path {
			http.NotFound(w, r)
			return
		}
		body, status := n.answer(r)
		mu.Lock()
		if kept == nil {
			kept = body
		} else {
			body, status = kept, http.StatusOK
		}
		mu.Unlock()
		w.WriteHeader(status)
		w.Write(body)
	})
	if _, err := e.v.Verify(e.ctx, Target{Host: "other.example", Port: 443}, []*x509.Certificate{e.real}); err != nil {
		t.Fatal(err)
	}
	checkFaulty(t, e, AnswerUnauthentic, "nonce")
}

// TestNotarySignsAnotherQuestion: answers signed now, with the request's nonce, but
// about another target or another certificate, are refused.
func TestNotarySignsAnotherQuestion(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*protocol.V2Request)
		err  string
	}{
		{"other site", func(q *protocol.V2Request) { q.Host = "other.example" }, "target"},
		{"other port", func(q *protocol.V2Request) { q.Port = 8443 }, "target"},
		{"other certificate", func(q *protocol.V2Request) { q.SHA256 = strings.Repeat("ab", 32) }, "fingerprint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newFaultEnv(t)
			e.addFault("faulty", func(n *testNotary, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != protocol.V2Path {
					http.NotFound(w, r)
					return
				}
				raw, _ := io.ReadAll(io.LimitReader(r.Body, protocol.MaxV2RequestSize))
				q, err := protocol.ParseV2Request(raw)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				c.edit(&q)
				edited, _ := q.Marshal()
				r.Body = io.NopCloser(bytes.NewReader(edited))
				body, status := n.answer(r) // honest about the edited question
				w.WriteHeader(status)
				w.Write(body)
			})
			checkFaulty(t, e, AnswerUnauthentic, c.err)
		})
	}
}
