package truststore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "truststore test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestNSSRoundTrip uses the real certutil on a fresh NSS database in a temporary home.
func TestNSSRoundTrip(t *testing.T) {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Skip("certutil not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	home := t.TempDir()
	dbDir := filepath.Join(home, ".pki", "nssdb")
	os.MkdirAll(dbDir, 0o700)
	if out, err := exec.CommandContext(ctx, certutil, "-N", "-d", "sql:"+dbDir, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v %s", err, out)
	}
	dbs := NSSDatabases(home)
	if len(dbs) != 1 || dbs[0] != "sql:"+dbDir {
		t.Fatalf("NSSDatabases = %q", dbs)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, testCAPEM(t), 0o644)
	const nick = "Convergence Local CA test"
	if err := InstallNSS(ctx, caFile, nick, dbs); err != nil {
		t.Fatalf("InstallNSS: %v", err)
	}
	out, err := exec.CommandContext(ctx, certutil, "-L", "-d", dbs[0]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), nick) || !strings.Contains(string(out), "C,,") {
		t.Fatalf("certutil -L after install: %v\n%s", err, out)
	}
	if !InNSS(ctx, nick, dbs[0]) {
		t.Errorf("InNSS false after install")
	}
	if err := UninstallNSS(ctx, nick, dbs); err != nil {
		t.Fatalf("UninstallNSS: %v", err)
	}
	if InNSS(ctx, nick, dbs[0]) {
		t.Errorf("InNSS true after uninstall")
	}
	if err := UninstallNSS(ctx, nick, dbs); err != nil {
		t.Errorf("second UninstallNSS: %v", err)
	}
	if err := InstallNSS(ctx, filepath.Join(home, "missing.pem"), nick, dbs); err == nil {
		t.Errorf("InstallNSS of a missing file succeeded")
	}
}
