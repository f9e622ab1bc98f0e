package e2e

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proxyAddr is the app's proxy inside the client's namespace (that namespace's own
// loopback, so every lab can use the same port).
const proxyAddr = "127.0.0.1:8118"

// app is the real convergence binary with its data dir, run in the client's namespace.
type app struct {
	l      *lab
	ns     string
	dir    string
	caFile string
	spki   string // base64 SHA-256 of the local CA's SPKI, for Chromium
	proc   *proc  // the headless proxy while it runs
	runs   int
}

// appEnv is the environment of the app: no session bus, so the local CA key is kept in
// the data dir (the keyring would be shared by every lab of the run).
func appEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DBUS_SESSION_BUS_ADDRESS=") {
			env = append(env, e)
		}
	}
	return env
}

// newApp makes a data dir for the app in role's namespace and exports its local CA.
func (l *lab) newApp(role string) *app {
	l.t.Helper()
	a := &app{l: l, ns: l.host(role).ns, dir: filepath.Join(l.dir, "app-data")}
	pemText := a.cli("ca", "export")
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		l.t.Fatalf("ca export printed no PEM:\n%s", pemText)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		l.t.Fatalf("ca export: %v", err)
	}
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	a.spki = base64.StdEncoding.EncodeToString(sum[:])
	a.caFile = filepath.Join(l.dir, "convergence-ca.pem")
	l.writeFile(a.caFile, pemText)
	return a
}

// cli runs a terminal command of the app on its data dir and returns its stdout.
func (a *app) cli(args ...string) string {
	a.l.t.Helper()
	out, errOut, err := a.l.runIn(a.ns, appEnv(), time.Minute, bins.app, append([]string{"--data-dir", a.dir}, args...)...)
	if err != nil {
		a.l.t.Fatalf("convergence %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// start runs the headless proxy and waits until it listens.
func (a *app) start() {
	a.l.t.Helper()
	a.runs++
	a.proc = a.l.startIn(a.ns, fmt.Sprintf("convergence-%d", a.runs), appEnv(), bins.app,
		"--headless", "--listen", proxyAddr, "--data-dir", a.dir)
	a.proc.waitFor(a.l.t, regexp.MustCompile(`msg="proxy listening"`), 1, 30*time.Second)
}

// restart stops the proxy, applies the terminal commands, and starts it again.
func (a *app) restart(cmds ...[]string) {
	a.l.t.Helper()
	a.proc.stop()
	for _, c := range cmds {
		a.cli(c...)
	}
	a.start()
}

// logLine is one slog text line, as key/value pairs.
type logLine map[string]string

var kvRE = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

func parseLogLine(line string) logLine {
	m := logLine{}
	for _, kv := range kvRE.FindAllStringSubmatch(line, -1) {
		v := kv[2]
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		m[kv[1]] = v
	}
	return m
}

// lines returns the current run's log lines with msg == msg about site.
func (a *app) lines(msg, site string) []logLine {
	var out []logLine
	for _, line := range strings.Split(a.proc.out.String(), "\n") {
		m := parseLogLine(line)
		if m["msg"] == msg && (site == "" || m["site"] == site) {
			out = append(out, m)
		}
	}
	return out
}

// verdict waits for the n-th verdict line (1-based) about site in the current run.
func (a *app) verdict(site string, n int) logLine {
	a.l.t.Helper()
	return a.awaitVerdict(site, fmt.Sprintf("verdict #%d", n), func(v []logLine) (logLine, bool) {
		if len(v) >= n {
			return v[n-1], true
		}
		return nil, false
	})
}

// verdictWith waits for the first verdict line about site after its first n with the
// given outcome: the line is written as the answer goes out, so a visit's own line may
// come a moment after its page.
func (a *app) verdictWith(site string, n int, outcome string) logLine {
	a.l.t.Helper()
	return a.awaitVerdict(site, fmt.Sprintf("%s verdict after the first %d", outcome, n), func(v []logLine) (logLine, bool) {
		for i := n; i < len(v); i++ {
			if v[i]["outcome"] == outcome {
				return v[i], true
			}
		}
		return nil, false
	})
}

// awaitVerdict polls site's verdict lines (at most 60 s) until pick finds one; what
// names it in the failure.
func (a *app) awaitVerdict(site, what string, pick func([]logLine) (logLine, bool)) logLine {
	a.l.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if l, ok := pick(a.lines("verdict", site)); ok {
			return l
		}
		if time.Now().After(deadline) {
			a.l.t.Fatalf("no %s for %s within 60s; log:\n%s", what, site, tail(a.proc.out.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// expectVerdict checks the fields of a verdict line.
func expectVerdict(t *testing.T, v logLine, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if v[k] != w {
			t.Errorf("verdict for %s: %s = %q, want %q (line %v)", v["site"], k, v[k], w, v)
		}
	}
}
