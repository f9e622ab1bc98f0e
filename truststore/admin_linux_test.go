//go:build linux

package truststore

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"

	"github.com/convergence-ng/convergence/internal/testsupport/unwritable"
)

// standInPkexec puts a pkexec on PATH that records its arguments (one per line) in the
// returned file and then does what PKEXEC_DO says: "run" runs them (as this user: root
// in the tests), "lie" exits 0 without running anything, a number exits with it, as
// pkexec does when the prompt is dismissed (126) or refused (127).
//
// A stand-in, not the real pkexec: the real one needs polkitd on the system bus and an
// authentication agent in a graphical session, which cannot run here; and a test must
// not wait for a password. Everything after pkexec (the shell script, the real
// update-ca-certificates, the files) is real.
func standInPkexec(t *testing.T, do string) (log string) {
	t.Helper()
	bin := t.TempDir()
	log = filepath.Join(bin, "args")
	script := `#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done > "$PKEXEC_LOG"
case "$PKEXEC_DO" in
run) exec "$@" ;;
lie) exit 0 ;;
126) echo "Error executing command as another user: Request dismissed" >&2; exit 126 ;;
127) echo "Error executing command as another user: Not authorized" >&2; exit 127 ;;
esac
exit 99
`
	if err := os.WriteFile(filepath.Join(bin, "pkexec"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("PKEXEC_LOG", log)
	t.Setenv("PKEXEC_DO", do)
	return log
}

// userStore is the test copy of the system store, as a process that is not root sees
// it (its changes go through pkexec), with its bundle built once.
func userStore(t *testing.T) linuxStore {
	t.Helper()
	s := tempSystemStore(t)
	if err := s.runUpdate(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	s.asUser = true
	return s
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPkexecRefusedChangesNothing: a dismissed prompt (126) and a refusal (127) are told
// apart, each says nothing was changed, gives the command, and the store is as it was.
func TestPkexecRefusedChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		code string
		want error
	}{{"126", ErrCancelled}, {"127", ErrNotAuthorized}} {
		t.Run(tc.code, func(t *testing.T) {
			s := userStore(t)
			c := newTestCA(t)
			writeCAFileT(t, c)
			log := standInPkexec(t, tc.code)
			before := readFile(t, s.bundle)
			r := install(ctxT(t), s, c.ca, c.file)
			if r.Done || !errors.Is(r.Err, tc.want) || !strings.Contains(r.Err.Error(), "nothing was changed") ||
				!strings.HasPrefix(r.Command, "sudo install -m 0644 ") || r.Kind != System {
				t.Errorf("result %+v, want %v", r, tc.want)
			}
			if errors.Is(r.Err, ErrCancelled) == errors.Is(r.Err, ErrNotAuthorized) {
				t.Errorf("cancelled and refused not told apart: %v", r.Err)
			}
			args := strings.Split(strings.TrimSpace(string(readFile(t, log))), "\n")
			if len(args) < 6 || args[0] != "/bin/sh" || args[1] != "-c" || args[3] != "sh" || args[4] != c.file ||
				args[5] != filepath.Join(s.dir, c.ca.file+".crt") || args[6] != s.update[0] {
				t.Errorf("pkexec was given %q", args)
			}
			if entries, _ := os.ReadDir(s.dir); len(entries) != 0 {
				t.Errorf("files left in the store: %v", entries)
			}
			if after := readFile(t, s.bundle); !bytes.Equal(before, after) {
				t.Error("the bundle changed")
			}
		})
	}
}

// TestPkexecInstallAndUninstall: the password given, the change made through pkexec is
// the real one (the copy, the real update-ca-certificates), verified in the bundle;
// and a pkexec that says yes but does nothing is not taken at its word.
func TestPkexecInstallAndUninstall(t *testing.T) {
	s := userStore(t)
	c := newTestCA(t)
	writeCAFileT(t, c)

	standInPkexec(t, "lie")
	if r := install(ctxT(t), s, c.ca, c.file); r.Done || !errors.Is(r.Err, ErrNotVerified) {
		t.Errorf("pkexec exited 0 without doing it: %+v", r)
	}

	log := standInPkexec(t, "run")
	r := install(ctxT(t), s, c.ca, c.file)
	if !r.Done || r.Err != nil || r.Checked != s.bundle+" holds it (after "+strings.Join(s.update, " ")+")" {
		t.Fatalf("install through pkexec: %+v", r)
	}
	if !strings.HasPrefix(string(readFile(t, log)), "/bin/sh\n-c\n") {
		t.Errorf("pkexec not used: %s", readFile(t, log))
	}
	if n, trusted := holdsT(t, s, c); n != 1 || !trusted {
		t.Fatalf("after install: %d files, in bundle %v", n, trusted)
	}
	if err := curlWith(t, s.bundle, c); err != nil {
		t.Errorf("curl with the rebuilt bundle refuses a site the CA issued: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(s.dir, c.ca.file+".crt")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("anchor file: %v %v", fi, err)
	}

	os.Remove(log)
	if r := install(ctxT(t), s, c.ca, c.file); !r.Done || exists(log) {
		t.Errorf("install of a CA already trusted asked for the password (%v): %+v", exists(log), r)
	}
	if r, ok := uninstall(ctxT(t), s, c.ca); !ok || !r.Done {
		t.Fatalf("uninstall through pkexec: %v %+v", ok, r)
	}
	if n, trusted := holdsT(t, s, c); n != 0 || trusted {
		t.Errorf("after uninstall: %d files, in bundle %v", n, trusted)
	}
	if err := curlWith(t, s.bundle, c); err == nil {
		t.Error("curl with the bundle still trusts the CA after the uninstall")
	}
}

// curlWith fetches a site whose certificate c issued with curl, trusting the bundle
// alone, as programs that read the system bundle do.
func curlWith(t *testing.T, bundle string, c testCA) error {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	site.TLS = &tls.Config{Certificates: []tls.Certificate{c.cert.Issue(t, testcerts.Options{}, "127.0.0.1").TLS()}}
	site.Config.ErrorLog = log.New(io.Discard, "", 0) // a refused handshake is expected after the uninstall
	site.StartTLS()
	defer site.Close()
	out, err := exec.CommandContext(ctxT(t), curl, "-sS", "--cacert", bundle, site.URL).CombinedOutput()
	if err == nil && string(out) != "ok" {
		return fmt.Errorf("unexpected answer %q", out)
	}
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// TestNoPkexec: without pkexec, the store is not done, and the result says what to
// install or run.
func TestNoPkexec(t *testing.T) {
	s := userStore(t)
	c := newTestCA(t)
	writeCAFileT(t, c)
	t.Setenv("PATH", t.TempDir())
	r := install(ctxT(t), s, c.ca, c.file)
	if r.Done || !errors.Is(r.Err, ErrNeedsRoot) || !strings.Contains(r.Err.Error(), "pkexec not found") || !strings.Contains(r.Command, "sudo ") {
		t.Errorf("%+v", r)
	}
}

// TestInstallCancelledKeepsTheRest: Install over a browser database and the system
// store, the password prompt cancelled: the browser database is done and stays so,
// the system store says it was cancelled; pressing Install again with the password
// given does the system store.
func TestInstallCancelledKeepsTheRest(t *testing.T) {
	home, dbs := nssHome(t)
	c := newTestCA(t)
	o := Options{CAPEM: c.pem, CAFile: c.file, Home: home, system: userStore(t)}
	standInPkexec(t, "126")
	res, err := Install(ctxT(t), o)
	if err != nil || len(res) != 3 {
		t.Fatalf("install: %v %+v", err, res)
	}
	for _, r := range res[:2] {
		if !r.Done || r.Kind != NSS {
			t.Errorf("%+v", r)
		}
	}
	if sys := res[2]; sys.Done || sys.Kind != System || !errors.Is(sys.Err, ErrCancelled) {
		t.Errorf("system store: %+v", sys)
	}
	standInPkexec(t, "run")
	res, err = Install(ctxT(t), o)
	mustDone(t, "install again", res, err, 3)
	for _, db := range dbs {
		if !inNSS(t, db, c) {
			t.Errorf("%s lost the CA", db)
		}
	}
}

// TestUnwritableSystemStore: as root, a store that cannot be written (immutable) is
// not done, and the error says which part failed.
func TestUnwritableSystemStore(t *testing.T) {
	s := tempSystemStore(t)
	if err := s.runUpdate(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	unwritable.Dir(t, s.dir)
	c := newTestCA(t)
	writeCAFileT(t, c)
	r := install(ctxT(t), s, c.ca, c.file)
	if r.Done || r.Err == nil || !strings.Contains(r.Err.Error(), "the file could not be changed in") || r.Command == "" {
		t.Errorf("%+v", r)
	}
	if n, trusted := holdsT(t, s, c); n != 0 || trusted {
		t.Errorf("%d files, in bundle %v", n, trusted)
	}
}
