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

// nssDatabases lists the NSS databases under home that exist: the shared one Chromium
// uses (~/.pki/nssdb), the Snap Chromium one, and every Firefox profile. Each entry has
// the "sql:" or "dbm:" prefix certutil expects.
func nssDatabases(home string) []string {
	var dirs []string
	dirs = append(dirs, filepath.Join(home, ".pki", "nssdb"))
	dirs = append(dirs, filepath.Join(home, "snap", "chromium", "current", ".pki", "nssdb"))
	for _, pattern := range []string{
		filepath.Join(home, ".mozilla", "firefox", "*"),
		filepath.Join(home, "snap", "firefox", "common", ".mozilla", "firefox", "*"),
	} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	var out []string
	for _, d := range dirs {
		switch {
		case exists(filepath.Join(d, "cert9.db")):
			out = append(out, "sql:"+d)
		case exists(filepath.Join(d, "cert8.db")):
			out = append(out, "dbm:"+d)
		}
	}
	return out
}

// nssStores is one store per NSS database under home. With create set and no database
// found, it is Chromium's shared database, which certutil creates at the first add and
// Chromium then uses: a user who has not yet run the browser needs no second install.
func nssStores(home string, create bool) []store {
	if home == "" {
		return nil
	}
	dbs := nssDatabases(home)
	if len(dbs) == 0 && create {
		dir := filepath.Join(home, ".pki", "nssdb")
		if err := os.MkdirAll(dir, 0o700); err == nil {
			dbs = []string{"sql:" + dir}
		}
	}
	out := make([]store, len(dbs))
	for i, db := range dbs {
		out[i] = nssDB(db)
	}
	return out
}

// nssDB is one NSS database, named as certutil's -d takes it ("sql:/path").
type nssDB string

func (db nssDB) name() string {
	return "Browser database " + strings.TrimPrefix(strings.TrimPrefix(string(db), "sql:"), "dbm:")
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
	cu, err := certutil()
	if err != nil {
		return nil, false, err
	}
	out, err := exec.CommandContext(ctx, cu, "-L", "-d", string(db)).CombinedOutput()
	if err != nil {
		return nil, false, fmt.Errorf("failed to list NSS database %q: %w: %s", db, err, strings.TrimSpace(string(out)))
	}
	for _, e := range parseNSSList(string(out)) {
		if !strings.HasPrefix(e.nick, nicknamePrefix) {
			continue
		}
		pemOut, err := exec.CommandContext(ctx, cu, "-L", "-d", string(db), "-n", e.nick, "-a").Output()
		if err != nil {
			return nil, false, fmt.Errorf("failed to read %q from NSS database %q: %w", e.nick, db, err)
		}
		if holdsCert(pemOut, ca.der) {
			found = append(found, e.nick)
			trusted = trusted || strings.Contains(strings.SplitN(e.trust, ",", 2)[0], "C")
		}
	}
	return found, trusted, nil
}

// add adds the CA under its own nickname, trusted for TLS servers only ("C,,").
func (db nssDB) add(ctx context.Context, ca *caCert, caFile string) error {
	cu, err := certutil()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, cu, "-A", "-d", string(db), "-t", "C,,", "-n", ca.nick, "-i", caFile).CombinedOutput()
	if err != nil {
		return fmt.Errorf("failed to add %q to NSS database %q: %w: %s", ca.nick, db, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (db nssDB) remove(ctx context.Context, found []string) error {
	cu, err := certutil()
	if err != nil {
		return err
	}
	var errs []error
	for _, nick := range found {
		out, err := exec.CommandContext(ctx, cu, "-D", "-d", string(db), "-n", nick).CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to remove %q from NSS database %q: %w: %s", nick, db, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

func (db nssDB) addCommand(ca *caCert, caFile string) string {
	return joinCommands(installCertutilCommand(),
		shellCommand("certutil", "-A", "-d", string(db), "-t", "C,,", "-n", ca.nick, "-i", caFile))
}

func (db nssDB) removeCommand(ca *caCert, found []string) string {
	if len(found) == 0 {
		found = []string{ca.nick}
	}
	cmds := []string{installCertutilCommand()}
	for _, nick := range found {
		cmds = append(cmds, shellCommand("certutil", "-D", "-d", string(db), "-n", nick))
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
