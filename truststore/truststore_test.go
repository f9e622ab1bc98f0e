package truststore

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/testsupport/testcerts"
)

// testCA is a fresh CA certificate and the file that holds it.
type testCA struct {
	pem  []byte
	file string
	ca   *caCert
	cert *testcerts.Cert // to issue a site's certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	// A random serial (testcerts' own) and name, as the app's own CAs have: NSS refuses
	// a second certificate with the issuer and serial of one it holds.
	cert := testcerts.NewCA(t, "truststore test CA "+rand.Text())
	p := cert.PEM()
	ca, err := parseCA(p)
	if err != nil {
		t.Fatal(err)
	}
	// A path with a space and a quote: the hint commands must quote it for the shell.
	dir := filepath.Join(t.TempDir(), "data dir's")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return testCA{pem: p, file: filepath.Join(dir, "ca.pem"), ca: ca, cert: cert}
}

func writeCAFileT(t *testing.T, c testCA) {
	t.Helper()
	if err := os.WriteFile(c.file, c.pem, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (c testCA) opts(home string) Options {
	return Options{CAPEM: c.pem, CAFile: c.file, Home: home, Only: []Kind{NSS}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func needCertutil(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("certutil")
	if err != nil {
		t.Skip("certutil not installed (libnss3-tools)")
	}
	return p
}

// nssHome is a home with two real NSS databases: Chromium's shared one and a Firefox
// profile. It returns the home and the databases as certutil names them.
func nssHome(t *testing.T) (string, []string) {
	t.Helper()
	cu := needCertutil(t)
	home := t.TempDir()
	var dbs []string
	for _, d := range []string{filepath.Join(home, ".pki", "nssdb"), filepath.Join(home, ".mozilla", "firefox", "abcd.default-release")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.CommandContext(ctxT(t), cu, "-N", "-d", "sql:"+d, "--empty-password").CombinedOutput(); err != nil {
			t.Fatalf("certutil -N: %v %s", err, out)
		}
		dbs = append(dbs, "sql:"+d)
	}
	return home, dbs
}

// dbAt is the database nssDatabases lists under home as db ("sql:/path").
func dbAt(t *testing.T, home, db string) nssDB {
	t.Helper()
	for _, d := range nssDatabases(home, false) {
		if d.db == db {
			return d
		}
	}
	t.Fatalf("%s not among the databases under %s: %+v", db, home, nssDatabases(home, false))
	return nssDB{}
}

// listNSS is what "certutil -L" shows for db.
func listNSS(t *testing.T, db string) []nssEntry {
	t.Helper()
	out, err := exec.CommandContext(ctxT(t), needCertutil(t), "-L", "-d", db).CombinedOutput()
	if err != nil {
		t.Fatalf("certutil -L -d %s: %v\n%s", db, err, out)
	}
	return parseNSSList(string(out))
}

// inNSS reports whether db holds c's certificate, trusted for websites, under its own
// nickname, as certutil shows it.
func inNSS(t *testing.T, db string, c testCA) bool {
	t.Helper()
	for _, e := range listNSS(t, db) {
		if e.nick == c.ca.nick {
			return e.trust == "C,,"
		}
	}
	return false
}

func mustDone(t *testing.T, what string, res []Result, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(res) != want {
		t.Fatalf("%s: %d results, want %d: %+v", what, len(res), want, res)
	}
	for _, r := range res {
		if !r.Done || r.Err != nil || r.Command != "" {
			t.Errorf("%s: %s: done %v, err %v, command %q", what, r.Store, r.Done, r.Err, r.Command)
		}
	}
}

func TestNicknameFromKey(t *testing.T) {
	a, b := newTestCA(t), newTestCA(t)
	if !strings.HasPrefix(a.ca.nick, "Convergence Local CA ") || len(a.ca.nick) != len("Convergence Local CA ")+8 {
		t.Errorf("nickname %q, want the prefix and 8 hex digits", a.ca.nick)
	}
	if a.ca.nick == b.ca.nick || a.ca.file == b.ca.file {
		t.Errorf("two CAs share a name: %q %q", a.ca.nick, a.ca.file)
	}
	again, err := parseCA(a.pem)
	if err != nil || again.nick != a.ca.nick {
		t.Errorf("nickname not stable: %q, %q (%v)", again.nick, a.ca.nick, err)
	}
	if _, err := parseCA([]byte("not a certificate")); err == nil {
		t.Error("parseCA accepted garbage")
	}
}

// TestNSSInstallVerifyUninstall uses the real certutil on real databases in a
// temporary home: install, verify, a regenerated CA beside the first, uninstall of one
// leaving the other.
func TestNSSInstallVerifyUninstall(t *testing.T) {
	ctx := ctxT(t)
	home, dbs := nssHome(t)
	if got := nssDatabases(home, false); len(got) != 2 {
		t.Fatalf("nssDatabases = %+v, want %q", got, dbs)
	}
	a, b := newTestCA(t), newTestCA(t)
	res, err := Install(ctx, a.opts(home))
	mustDone(t, "install A", res, err, 2)
	for _, db := range dbs {
		if !inNSS(t, db, a) {
			t.Errorf("%s: A not listed as trusted after install: %+v", db, listNSS(t, db))
		}
	}
	if written, err := os.ReadFile(a.file); err != nil || string(written) != string(a.pem) {
		t.Errorf("CA file not written: %v", err)
	}
	res, err = Install(ctx, a.opts(home))
	mustDone(t, "install A again", res, err, 2)

	// A regenerated CA goes in beside the first: its own nickname, no collision.
	res, err = Install(ctx, b.opts(home))
	mustDone(t, "install B", res, err, 2)
	for _, db := range dbs {
		if !inNSS(t, db, a) || !inNSS(t, db, b) {
			t.Errorf("%s: want A and B: %+v", db, listNSS(t, db))
		}
	}

	res, err = Uninstall(ctx, a.opts(home))
	mustDone(t, "uninstall A", res, err, 2)
	for _, db := range dbs {
		if inNSS(t, db, a) || !inNSS(t, db, b) {
			t.Errorf("%s: want B alone: %+v", db, listNSS(t, db))
		}
	}
	res, err = Uninstall(ctx, a.opts(home))
	mustDone(t, "uninstall A again (in no store)", res, err, 0)
}

// TestNSSReplace: after a regeneration the new CA takes the old one's place, even when
// the old one was installed under the single nickname of earlier versions.
func TestNSSReplace(t *testing.T) {
	ctx := ctxT(t)
	home, dbs := nssHome(t)
	old, ca, other := newTestCA(t), newTestCA(t), newTestCA(t)
	if err := os.WriteFile(old.file, old.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	// Only the first database held the old CA, named as before nicknames were unique.
	cu := needCertutil(t)
	if out, err := exec.CommandContext(ctx, cu, "-A", "-d", dbs[0], "-t", "C,,", "-n", "Convergence Local CA", "-i", old.file).CombinedOutput(); err != nil {
		t.Fatalf("certutil -A: %v %s", err, out)
	}
	res, err := Install(ctx, Options{CAPEM: other.pem, CAFile: other.file, Home: home, Only: []Kind{NSS}})
	mustDone(t, "install another install's CA", res, err, 2)

	res, err = Replace(ctx, old.pem, ca.opts(home))
	mustDone(t, "replace", res, err, 1)
	if want := dbAt(t, home, dbs[0]).name(); res[0].Store != want {
		t.Errorf("replaced in %q, want %q", res[0].Store, want)
	}
	if !inNSS(t, dbs[0], ca) || inNSS(t, dbs[1], ca) {
		t.Errorf("new CA: want it where the old one was only: %+v / %+v", listNSS(t, dbs[0]), listNSS(t, dbs[1]))
	}
	for _, e := range listNSS(t, dbs[0]) {
		if e.nick == "Convergence Local CA" {
			t.Errorf("old CA still in %s", dbs[0])
		}
	}
	for _, db := range dbs {
		if !inNSS(t, db, other) {
			t.Errorf("%s: the other CA was touched: %+v", db, listNSS(t, db))
		}
	}
}

// TestNSSHintCommands runs the commands a person is given, as they would, in a shell.
func TestNSSHintCommands(t *testing.T) {
	ctx := ctxT(t)
	home, dbs := nssHome(t)
	c := newTestCA(t)
	if err := os.WriteFile(c.file, c.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	db := dbAt(t, home, dbs[0])
	add := db.addCommand(c.ca, c.file)
	if !strings.Contains(add, "certutil -A -d sql:") || !strings.Contains(add, `'`+c.ca.nick+`'`) {
		t.Errorf("add command %q", add)
	}
	if out, err := exec.CommandContext(ctx, "sh", "-c", add).CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v\n%s", add, err, out)
	}
	if !inNSS(t, dbs[0], c) {
		t.Fatalf("after the add command: %+v", listNSS(t, dbs[0]))
	}
	rm := db.removeCommand(c.ca, nil)
	if out, err := exec.CommandContext(ctx, "sh", "-c", rm).CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v\n%s", rm, err, out)
	}
	if found, _, err := db.holds(ctx, c.ca); err != nil || len(found) > 0 {
		t.Fatalf("after the remove command: %q %v", found, err)
	}

	// A database certutil cannot open: not done, and the command to run names it.
	broken := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := install(ctx, nssDB{db: "sql:" + broken, dir: broken, browser: "Test"}, c.ca, c.file)
	if r.Done || r.Err == nil || !strings.Contains(r.Command, "sql:"+broken) || !strings.Contains(r.Command, shellQuote(c.file)) {
		t.Errorf("install into a broken database: %+v", r)
	}
}

// TestNSSCreatesChromiumDatabase: with no database yet, install creates Chromium's.
func TestNSSCreatesChromiumDatabase(t *testing.T) {
	needCertutil(t)
	home := t.TempDir()
	c := newTestCA(t)
	res, err := Install(ctxT(t), c.opts(home))
	mustDone(t, "install", res, err, 1)
	if db := "sql:" + filepath.Join(home, ".pki", "nssdb"); !inNSS(t, db, c) {
		t.Errorf("not in %s: %+v", db, listNSS(t, db))
	}
}

func TestNoCertutil(t *testing.T) {
	home, _ := nssHome(t)
	c := newTestCA(t)
	t.Setenv("PATH", t.TempDir())
	res, err := Install(ctxT(t), c.opts(home))
	if err != nil || len(res) != 2 {
		t.Fatalf("install: %v %+v", err, res)
	}
	for _, r := range res {
		if r.Done || !errors.Is(r.Err, ErrNoCertutil) || !strings.Contains(r.Command, "certutil -A") {
			t.Errorf("%+v, want ErrNoCertutil and the command", r)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"sql:/home/ann/.pki/nssdb":  "sql:/home/ann/.pki/nssdb",
		"Convergence Local CA 0a1b": "'Convergence Local CA 0a1b'",
		"/data/ann's dir/ca.pem":    `'/data/ann'\''s dir/ca.pem'`,
		"$HOME":                     "'$HOME'",
		"":                          "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseNSSList(t *testing.T) {
	out := "\nCertificate Nickname                                         Trust Attributes\n" +
		"                                                             SSL,S/MIME,JAR/XPI\n\n" +
		"Convergence Local CA 0a1b2c3d                                C,,  \n" +
		"other one                                                    ,,\n"
	got := parseNSSList(out)
	if len(got) != 2 || got[0] != (nssEntry{"Convergence Local CA 0a1b2c3d", "C,,"}) || got[1] != (nssEntry{"other one", ",,"}) {
		t.Errorf("parseNSSList = %+v", got)
	}
}
