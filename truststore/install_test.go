package truststore

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/unwritable"
)

// newNSSDB makes a real, empty NSS database at home/rel with certutil, as a browser
// would at its first start, and returns its certutil name.
func newNSSDB(t *testing.T, home, rel string) string {
	t.Helper()
	d := filepath.Join(home, rel)
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctxT(t), needCertutil(t), "-N", "-d", "sql:"+d, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N -d sql:%s: %v %s", d, err, out)
	}
	return "sql:" + d
}

// TestNSSBrowserLocations: in a home laid out as browsers leave it (Firefox profiles in
// each place Firefox keeps them, Snap and Flatpak browsers, a symlinked profile, a
// profile folder Firefox has not started yet), install reaches every real database
// once, creates Chromium's ~/.pki/nssdb although other databases exist (before, it was
// created only when none did, so Chromium stayed untrusting beside Firefox), and
// certutil itself then lists the CA as trusted in each.
func TestNSSBrowserLocations(t *testing.T) {
	needCertutil(t)
	home := t.TempDir()
	want := []string{
		newNSSDB(t, home, ".mozilla/firefox/abcd.default-release"),
		newNSSDB(t, home, ".config/mozilla/firefox/efgh.default-release"),
		newNSSDB(t, home, "snap/firefox/common/.mozilla/firefox/snap1.default"),
		newNSSDB(t, home, ".var/app/org.mozilla.firefox/.mozilla/firefox/flat1.default"),
		newNSSDB(t, home, ".var/app/org.chromium.Chromium/.pki/nssdb"),
	}
	// Snap's "current" is a link to the revision in use.
	newNSSDB(t, home, "snap/chromium/2345/.pki/nssdb")
	mustSymlink(t, "2345", filepath.Join(home, "snap/chromium/current"))
	want = append(want, "sql:"+filepath.Join(home, "snap/chromium/current/.pki/nssdb"))
	mustSymlink(t, "abcd.default-release", filepath.Join(home, ".mozilla/firefox/link.default"))
	if err := os.MkdirAll(filepath.Join(home, ".mozilla/firefox/new.profile"), 0o700); err != nil { // not started: no cert9.db
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".mozilla/firefox/profiles.ini"), []byte("[General]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chromium := "sql:" + filepath.Join(home, ".pki", "nssdb")

	c := newTestCA(t)
	res, err := Install(ctxT(t), c.opts(home))
	mustDone(t, "install", res, err, len(want)+1)
	var got []string
	for _, r := range res {
		_, dir, _ := strings.Cut(r.Store, " database ")
		got = append(got, "sql:"+dir)
		if r.Kind != NSS || r.Restart == "" || !strings.HasPrefix(r.Checked, "certutil -L -n "+shellQuote(c.ca.nick)+" -d sql:") {
			t.Errorf("%s: kind %q, restart %q, checked %q", r.Store, r.Kind, r.Restart, r.Checked)
		}
	}
	for _, db := range append(want, chromium) {
		if !slices.Contains(got, db) {
			t.Errorf("%s not in the results: %q", db, got)
		}
		if !inNSS(t, db, c) {
			t.Errorf("%s: certutil does not list the CA as trusted: %+v", db, listNSS(t, db))
		}
		// The check the results name, run as a person would.
		if out, err := exec.CommandContext(ctxT(t), "certutil", "-L", "-n", c.ca.nick, "-d", db).CombinedOutput(); err != nil || !strings.Contains(string(out), "Trusted CA") {
			t.Errorf("certutil -L -n %q -d %s: %v\n%s", c.ca.nick, db, err, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(home, ".pki", "nssdb")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created ~/.pki/nssdb: %v %v", fi, err)
	}
	if exists(filepath.Join(home, ".mozilla/firefox/new.profile/cert9.db")) {
		t.Error("a database was made in a profile Firefox has not started")
	}
	for _, r := range res {
		if strings.Contains(r.Store, "link.default") {
			t.Errorf("the symlinked profile counted twice: %s", r.Store)
		}
	}
}

// TestNSSCreateCommand: on a fresh machine the command a person is given makes the
// database first (the README's single certutil line failed there: "SEC_ERROR_BAD_DATABASE"),
// and it works, run in a shell.
func TestNSSCreateCommand(t *testing.T) {
	needCertutil(t)
	home := t.TempDir()
	c := newTestCA(t)
	writeCAFileT(t, c)
	dbs := nssDatabases(home, true)
	if len(dbs) != 1 || !dbs[0].missing() {
		t.Fatalf("fresh home: %+v, want Chromium's database, missing", dbs)
	}
	cmd := dbs[0].addCommand(c.ca, c.file)
	if !strings.Contains(cmd, "mkdir -p "+filepath.Join(home, ".pki", "nssdb")+" && certutil -N -d sql:") {
		t.Errorf("command %q does not create the database", cmd)
	}
	if out, err := exec.CommandContext(ctxT(t), "sh", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v\n%s", cmd, err, out)
	}
	if !inNSS(t, dbs[0].db, c) {
		t.Errorf("after the command: %+v", listNSS(t, dbs[0].db))
	}
}

// TestNeverDoneForUnwritableStore: a Firefox profile whose database cannot be written
// is reported not done, with its error and the command, while the other store is done;
// certutil confirms what each result says.
func TestNeverDoneForUnwritableStore(t *testing.T) {
	home, dbs := nssHome(t) // Chromium's, then a Firefox profile
	unwritable.Dir(t, strings.TrimPrefix(dbs[1], "sql:"))
	c := newTestCA(t)
	res, err := Install(ctxT(t), c.opts(home))
	if err != nil || len(res) != 2 {
		t.Fatalf("install: %v %+v", err, res)
	}
	ok, failed := res[0], res[1]
	if !ok.Done || ok.Err != nil || !inNSS(t, dbs[0], c) {
		t.Errorf("the writable store: %+v", ok)
	}
	if failed.Done || failed.Checked != "" || !errors.Is(failed.Err, ErrReadOnly) || !strings.Contains(failed.Err.Error(), "this user cannot write it: it is read-only") ||
		!strings.Contains(failed.Command, "certutil -A -d "+dbs[1]) {
		t.Errorf("the unwritable store: %+v", failed)
	}
	if inNSS(t, dbs[1], c) {
		t.Errorf("the unwritable store holds the CA after all: %+v", listNSS(t, dbs[1]))
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestNSSForeignOwner: a profile that belongs to another user (Firefox once started
// with sudo) gets a command that gives it back before certutil runs.
func TestNSSForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a database to another user")
	}
	home := t.TempDir()
	db := dbAt(t, home, newNSSDB(t, home, ".mozilla/firefox/abcd.default-release"))
	if got := db.foreignOwner(); got != "" {
		t.Fatalf("our own database said to be %q's", got)
	}
	paths, _ := filepath.Glob(filepath.Join(db.dir, "*"))
	for _, p := range append(paths, db.dir) {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if got := db.foreignOwner(); got == "" {
		t.Fatal("another user's database not noticed")
	}
	c := newTestCA(t)
	want := "sudo chown -R " + currentUser() + ": " + db.dir + " && certutil -A -d " + db.db
	if got := db.addCommand(c.ca, c.file); !strings.HasPrefix(got, want) {
		t.Errorf("command %q, want it to start with %q", got, want)
	}
}
