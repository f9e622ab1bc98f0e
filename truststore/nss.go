// Package truststore installs the local CA into the trust stores that browsers and
// programs read: NSS databases (Chromium, Firefox) through certutil, and the system store.
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

// ErrNoCertutil is returned when certutil (Debian/Ubuntu: libnss3-tools, Fedora:
// nss-tools) is not installed, so NSS databases cannot be changed.
var ErrNoCertutil = errors.New("certutil not found (install libnss3-tools or nss-tools)")

// NSSDatabases lists the NSS databases under home that exist: the shared one Chromium
// uses (~/.pki/nssdb), the Snap Chromium one, and every Firefox profile. Each entry has
// the "sql:" or "dbm:" prefix certutil expects.
func NSSDatabases(home string) []string {
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

// InstallNSS adds the CA in caFile (PEM) under nickname to every database in dbs,
// trusted for TLS servers only ("C,,"). It tries every database and returns the
// failures joined.
func InstallNSS(ctx context.Context, caFile, nickname string, dbs []string) error {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		return ErrNoCertutil
	}
	var errs []error
	for _, db := range dbs {
		out, err := exec.CommandContext(ctx, certutil, "-A", "-d", db, "-t", "C,,", "-n", nickname, "-i", caFile).CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to add %q to NSS database %q: %w: %s", nickname, db, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// UninstallNSS removes nickname from every database in dbs; a database without it is
// not an error.
func UninstallNSS(ctx context.Context, nickname string, dbs []string) error {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		return ErrNoCertutil
	}
	var errs []error
	for _, db := range dbs {
		if !InNSS(ctx, nickname, db) {
			continue
		}
		out, err := exec.CommandContext(ctx, certutil, "-D", "-d", db, "-n", nickname).CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to remove %q from NSS database %q: %w: %s", nickname, db, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// InNSS reports whether db holds a certificate named nickname.
func InNSS(ctx context.Context, nickname, db string) bool {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		return false
	}
	return exec.CommandContext(ctx, certutil, "-L", "-d", db, "-n", nickname).Run() == nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
