package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBin runs the real binary and returns its stdout, stderr and exit status.
func runBin(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// TestDirectoryCommands runs the operator's path on the real binary: make a directory
// key, print two notaries' entries (one from its data dir, one from a bundle file),
// sign them into a directory, verify it, and see a changed copy and the wrong key
// refused.
func TestDirectoryCommands(t *testing.T) {
	bin := sharedBinary(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "directory.key")
	pub, stderr, code := runBin(t, bin, "directory", "keygen", "--out", keyFile)
	if code != 0 || !strings.HasPrefix(pub, "ed25519:") {
		t.Fatalf("keygen: %d %q %s", code, pub, stderr)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if _, stderr, code := runBin(t, bin, "directory", "keygen", "--out", keyFile); code != 2 || !strings.Contains(stderr, "never replaces a key") {
		t.Fatalf("keygen over an existing key: %d %s", code, stderr)
	}

	entryA, stderr, code := runBin(t, bin, "directory", "entry", "--data", filepath.Join(dir, "a"), "--name", "Notary A",
		"--host", "10.9.0.1", "--region", "DE", "--operator", "A e.V.", "--network", "AS64500", "--contact", "mailto:a@example.org", "--listed", "2026-11-01")
	if code != 0 || !strings.Contains(entryA, `"operator": "A e.V."`) || !strings.Contains(entryA, `"country": "DE"`) {
		t.Fatalf("entry A: %d %s %s", code, entryA, stderr)
	}
	bundleB, stderr, code := runBin(t, bin, "bundle", "--data", filepath.Join(dir, "b"), "--name", "Notary B", "--host", "10.9.0.2")
	if code != 0 {
		t.Fatalf("bundle B: %s", stderr)
	}
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	entryB, stderr, code := runBin(t, bin, "directory", "entry", "--bundle", write("b.notary", bundleB), "--country", "FR",
		"--operator", "B SA", "--network", "AS64501", "--contact", "https://b.example.org")
	if code != 0 {
		t.Fatalf("entry B: %s", stderr)
	}
	if _, stderr, code := runBin(t, bin, "directory", "entry", "--bundle", filepath.Join(dir, "b.notary"), "--country", "fr",
		"--operator", "B SA", "--network", "AS64501", "--contact", "x"); code != 2 || !strings.Contains(stderr, "country") {
		t.Fatalf("entry with a lowercase country: %d %s", code, stderr)
	}

	dirFile := filepath.Join(dir, "directory.txt")
	if _, stderr, code := runBin(t, bin, "directory", "sign", "--key", keyFile, "--name", "Lab directory", "--out", dirFile,
		write("a.entry", entryA), write("b.entry", entryB)); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	out, stderr, code := runBin(t, bin, "directory", "verify", "--pubkey", strings.TrimSpace(pub), dirFile)
	if code != 0 || !strings.Contains(out, `directory "Lab directory"`) || !strings.Contains(out, "2 notaries") ||
		!strings.Contains(out, "Notary A") || !strings.Contains(out, "AS64501") {
		t.Fatalf("verify: %d %s %s", code, out, stderr)
	}

	signed, _ := os.ReadFile(dirFile)
	tampered := write("tampered.txt", strings.Replace(string(signed), "AS64501", "AS64500", 1))
	if out, stderr, code := runBin(t, bin, "directory", "verify", "--pubkey", strings.TrimSpace(pub), tampered); code != 1 ||
		!strings.Contains(stderr, "signature does not verify") || out != "" {
		t.Fatalf("tampered: %d %q %s", code, out, stderr)
	}
	otherKey, _, _ := runBin(t, bin, "directory", "keygen", "--out", filepath.Join(dir, "other.key"))
	if _, stderr, code := runBin(t, bin, "directory", "verify", "--pubkey", strings.TrimSpace(otherKey), dirFile); code != 1 ||
		!strings.Contains(stderr, "signature does not verify") {
		t.Fatalf("another key: %d %s", code, stderr)
	}
}
