package truststore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// nssLocation is where a browser keeps NSS databases, under the home.
type nssLocation struct {
	browser string // who reads it, in the store's name: "Chromium", "Firefox (Snap)"
	restart string // the program that reads it at its start (Result.Restart)
	dir     string // under the home; a glob of profile directories when profiles is set
	// profiles is set for Firefox: one database per profile, each made by Firefox at
	// the profile's first start (never by us: a profile not yet started has none).
	profiles bool
	// create is set for the one database that is made when missing: Chromium's shared
	// one, which Chromium uses from then on. The README's certutil line failed on a
	// fresh machine for want of it (issue 19).
	create bool
}

// nssLocations are the databases browsers on Linux read. Chromium and Chrome share
// ~/.pki/nssdb; Snap and Flatpak keep their own (Flatpak persists ~/.pki and ~/.mozilla
// under ~/.var/app/ID); Firefox has one per profile, in ~/.mozilla/firefox or, for new
// installs of recent versions that follow the XDG layout, ~/.config/mozilla/firefox.
var nssLocations = []nssLocation{
	{browser: "Chromium/Chrome", restart: "Chromium or Chrome", dir: ".pki/nssdb", create: true},
	{browser: "Chromium (Snap)", restart: "Chromium", dir: "snap/chromium/current/.pki/nssdb"},
	{browser: "Chromium (Flatpak)", restart: "Chromium", dir: ".var/app/org.chromium.Chromium/.pki/nssdb"},
	{browser: "Chrome (Flatpak)", restart: "Chrome", dir: ".var/app/com.google.Chrome/.pki/nssdb"},
	{browser: "Firefox", restart: "Firefox", dir: ".mozilla/firefox/*", profiles: true},
	{browser: "Firefox", restart: "Firefox", dir: ".config/mozilla/firefox/*", profiles: true},
	{browser: "Firefox (Snap)", restart: "Firefox", dir: "snap/firefox/common/.mozilla/firefox/*", profiles: true},
	{browser: "Firefox (Flatpak)", restart: "Firefox", dir: ".var/app/org.mozilla.firefox/.mozilla/firefox/*", profiles: true},
}

// nssDatabases lists the NSS databases under home: every one that exists and, with
// create set, Chromium's shared one when it does not (add makes it). A directory
// reached twice (a symlinked profile) is listed once.
func nssDatabases(home string, create bool) []nssDB {
	var out []nssDB
	seen := map[string]bool{}
	for _, loc := range nssLocations {
		dirs := []string{filepath.Join(home, loc.dir)}
		if loc.profiles {
			dirs, _ = filepath.Glob(filepath.Join(home, loc.dir))
		}
		for _, d := range dirs {
			key := d
			if real, err := filepath.EvalSymlinks(d); err == nil {
				key = real
			}
			if seen[key] {
				continue
			}
			db := nssDB{dir: d, browser: loc.browser, restartName: loc.restart}
			switch {
			case exists(filepath.Join(d, "cert9.db")):
				db.db = "sql:" + d
			case exists(filepath.Join(d, "cert8.db")):
				db.db = "dbm:" + d // the legacy format, still read by old browsers
			case create && loc.create:
				db.db = "sql:" + d
			default:
				continue
			}
			seen[key] = true
			out = append(out, db)
		}
	}
	return out
}

// nssStores is one store per NSS database under home (nssDatabases).
func nssStores(home string, create bool) []store {
	if home == "" {
		return nil
	}
	var out []store
	for _, db := range nssDatabases(home, create) {
		out = append(out, db)
	}
	return out
}

// nssDB is one NSS database.
type nssDB struct {
	db          string // as certutil's -d takes it: "sql:/path" or "dbm:/path"
	dir         string
	browser     string // nssLocation.browser
	restartName string // nssLocation.restart
}

func (db nssDB) name() string    { return db.browser + " database " + db.dir }
func (db nssDB) kind() Kind      { return NSS }
func (db nssDB) restart() string { return db.restartName }

func (db nssDB) checked(ca *caCert, present bool) string {
	list := shellCommand("certutil", "-L", "-n", ca.nick, "-d", db.db)
	if present {
		return list + " shows it, trusted for websites (C,,)"
	}
	return shellCommand("certutil", "-L", "-d", db.db) + " no longer lists it"
}

// missing reports whether the database does not exist yet (a "sql:" one without its
// cert9.db): it then holds nothing, and add creates it.
func (db nssDB) missing() bool {
	return strings.HasPrefix(db.db, "sql:") && !exists(filepath.Join(db.dir, "cert9.db"))
}

// certutil finds the certutil binary.
func certutil() (string, error) {
	p, err := exec.LookPath("certutil")
	if err != nil {
		return "", ErrNoCertutil
	}
	return p, nil
}

// holds looks at every entry whose nickname starts with the app's prefix (so entries
// made under the single nickname of earlier versions are found too), and keeps those
// whose certificate is ca's. trusted is set when one of them is trusted for TLS
// servers ("C" in the SSL field).
func (db nssDB) holds(ctx context.Context, ca *caCert) (found []string, trusted bool, err error) {
	if db.missing() {
		return nil, false, nil
	}
	cu, err := certutil()
	if err != nil {
		return nil, false, err
	}
	out, err := exec.CommandContext(ctx, cu, "-L", "-d", db.db).CombinedOutput()
	if err != nil {
		return nil, false, fmt.Errorf("failed to list NSS database %q: %w: %s", db.db, err, strings.TrimSpace(string(out)))
	}
	for _, e := range parseNSSList(string(out)) {
		if !strings.HasPrefix(e.nick, nicknamePrefix) {
			continue
		}
		pemOut, err := exec.CommandContext(ctx, cu, "-L", "-d", db.db, "-n", e.nick, "-a").Output()
		if err != nil {
			return nil, false, fmt.Errorf("failed to read %q from NSS database %q: %w", e.nick, db.db, err)
		}
		if holdsCert(pemOut, ca.der) {
			found = append(found, e.nick)
			trusted = trusted || strings.Contains(strings.SplitN(e.trust, ",", 2)[0], "C")
		}
	}
	return found, trusted, nil
}

// add adds the CA under its own nickname, trusted for TLS servers only ("C,,"),
// creating the database first when it does not exist (with no password, as Chromium
// makes it: a password would be asked for at every browser start).
func (db nssDB) add(ctx context.Context, ca *caCert, caFile string) error {
	cu, err := certutil()
	if err != nil {
		return err
	}
	if db.missing() {
		if err := os.MkdirAll(db.dir, 0o700); err != nil {
			return fmt.Errorf("failed to create NSS database directory %q: %w", db.dir, err)
		}
		if out, err := exec.CommandContext(ctx, cu, "-N", "-d", db.db, "--empty-password").CombinedOutput(); err != nil {
			return fmt.Errorf("failed to create NSS database %q: %w: %s", db.db, err, strings.TrimSpace(string(out)))
		}
	}
	out, err := exec.CommandContext(ctx, cu, "-A", "-d", db.db, "-t", "C,,", "-n", ca.nick, "-i", caFile).CombinedOutput()
	switch {
	case err == nil:
		return nil
	case strings.Contains(string(out), "SEC_ERROR_READ_ONLY"):
		why := "it is read-only"
		if owner := db.foreignOwner(); owner != "" {
			why = fmt.Sprintf("it belongs to user %q (was the browser started with sudo?)", owner)
		}
		return fmt.Errorf("failed to add %q to NSS database %q: %w: %s", ca.nick, db.db, ErrReadOnly, why)
	}
	return fmt.Errorf("failed to add %q to NSS database %q: %w: %s", ca.nick, db.db, err, strings.TrimSpace(string(out)))
}

// foreignOwner names the other user who owns the database's directory or its
// certificate file, if one does (owner_*.go).
func (db nssDB) foreignOwner() string {
	if o := foreignOwner(db.dir); o != "" {
		return o
	}
	return foreignOwner(filepath.Join(db.dir, "cert9.db"))
}

func (db nssDB) remove(ctx context.Context, found []string) error {
	cu, err := certutil()
	if err != nil {
		return err
	}
	var errs []error
	for _, nick := range found {
		out, err := exec.CommandContext(ctx, cu, "-D", "-d", db.db, "-n", nick).CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to remove %q from NSS database %q: %w: %s", nick, db.db, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

func (db nssDB) addCommand(ca *caCert, caFile string) string {
	create := ""
	if db.missing() {
		create = joinCommands(shellCommand("mkdir", "-p", db.dir), shellCommand("certutil", "-N", "-d", db.db, "--empty-password"))
	}
	// A database another user owns is given back to this one first: certutil run as
	// root would leave it root's, and the browser could not write it either.
	chown := ""
	if !db.missing() && db.foreignOwner() != "" {
		chown = shellCommand("sudo", "chown", "-R", currentUser()+":", db.dir)
	}
	return joinCommands(installCertutilCommand(), create, chown,
		shellCommand("certutil", "-A", "-d", db.db, "-t", "C,,", "-n", ca.nick, "-i", caFile))
}

func (db nssDB) removeCommand(ca *caCert, found []string) string {
	if len(found) == 0 {
		found = []string{ca.nick}
	}
	cmds := []string{installCertutilCommand()}
	for _, nick := range found {
		cmds = append(cmds, shellCommand("certutil", "-D", "-d", db.db, "-n", nick))
	}
	return joinCommands(cmds...)
}

// installCertutilCommand is the command that installs certutil with the system's
// package manager, when certutil is missing and the package manager is known.
func installCertutilCommand() string {
	if _, err := exec.LookPath("certutil"); err == nil {
		return ""
	}
	for _, pm := range []struct{ bin, cmd string }{
		{"apt-get", "sudo apt-get install libnss3-tools"},
		{"dnf", "sudo dnf install nss-tools"},
		{"yum", "sudo yum install nss-tools"},
		{"zypper", "sudo zypper install mozilla-nss-tools"},
		{"pacman", "sudo pacman -S nss"},
	} {
		if _, err := exec.LookPath(pm.bin); err == nil {
			return pm.cmd
		}
	}
	return ""
}

// nssEntry is one line of "certutil -L": a nickname and its trust flags ("C,,").
type nssEntry struct{ nick, trust string }

// parseNSSList reads the table "certutil -L" prints: a header, then one line per
// certificate, the nickname (which may hold spaces) padded to a column, then the trust
// flags "SSL,S/MIME,JAR/XPI".
func parseNSSList(out string) []nssEntry {
	var entries []nssEntry
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		i := strings.LastIndexAny(line, " \t")
		if i < 0 {
			continue
		}
		nick, trust := strings.TrimSpace(line[:i]), line[i+1:]
		if strings.Count(trust, ",") != 2 || nick == "" || strings.Contains(trust, "/") {
			continue // the header lines
		}
		entries = append(entries, nssEntry{nick: nick, trust: trust})
	}
	return entries
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
