//go:build linux

package truststore

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tempSystemStore is a copy of Debian's system store in a temporary directory, rebuilt
// by the real update-ca-certificates: its options point it at the copy (the anchors
// directory, the /etc/ssl/certs stand-in with its bundle, a configuration that lists one
// of Debian's own CAs, no hooks), so the machine's store is never changed although the
// tests run as root. Only the paths differ from the real store; the script, the
// command and the bundle check are the ones the app uses.
func tempSystemStore(t *testing.T) linuxStore {
	t.Helper()
	upd, err := exec.LookPath("update-ca-certificates")
	if err != nil {
		t.Skip("update-ca-certificates not installed (ca-certificates)")
	}
	root := t.TempDir()
	dir, etc, hooks := filepath.Join(root, "local"), filepath.Join(root, "etc-ssl-certs"), filepath.Join(root, "hooks")
	for _, d := range []string{dir, etc, hooks} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(root, "ca-certificates.conf")
	if err := os.WriteFile(conf, []byte(debianCA(t)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return linuxStore{family: "Debian, test copy", dir: dir, ext: ".crt", bundle: filepath.Join(etc, "ca-certificates.crt"),
		update: []string{upd, "--certsconf", conf, "--localcertsdir", dir, "--etccertsdir", etc, "--hooksdir", hooks}}
}

// debianCA is one CA Debian ships, as /etc/ca-certificates.conf names it.
func debianCA(t *testing.T) string {
	t.Helper()
	m, _ := filepath.Glob("/usr/share/ca-certificates/mozilla/*.crt")
	if len(m) == 0 {
		t.Skip("no CA under /usr/share/ca-certificates/mozilla (ca-certificates)")
	}
	return "mozilla/" + filepath.Base(m[0])
}

func holdsT(t *testing.T, s linuxStore, c testCA) (int, bool) {
	t.Helper()
	found, trusted, err := s.holds(context.Background(), c.ca)
	if err != nil {
		t.Fatal(err)
	}
	return len(found), trusted
}

func TestSystemInstallBesideUninstall(t *testing.T) {
	ctx := ctxT(t)
	s := tempSystemStore(t)
	a, b := newTestCA(t), newTestCA(t)
	writeCAFileT(t, a)
	writeCAFileT(t, b)
	for _, c := range []testCA{a, b} {
		if r := install(ctx, s, c.ca, c.file); !r.Done || r.Err != nil {
			t.Fatalf("install: %+v", r)
		}
	}
	fi, err := os.Stat(filepath.Join(s.dir, a.ca.file+".crt"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("anchor file: %v %v", fi, err)
	}
	if n, trusted := holdsT(t, s, a); n != 1 || !trusted {
		t.Fatalf("A: %d files, in bundle %v", n, trusted)
	}
	if n, trusted := holdsT(t, s, b); n != 1 || !trusted {
		t.Fatalf("B beside A: %d files, in bundle %v", n, trusted)
	}
	if r, ok := uninstall(ctx, s, a.ca); !ok || !r.Done {
		t.Fatalf("uninstall A: %v %+v", ok, r)
	}
	if n, trusted := holdsT(t, s, a); n != 0 || trusted {
		t.Errorf("A after uninstall: %d files, in bundle %v", n, trusted)
	}
	if n, trusted := holdsT(t, s, b); n != 1 || !trusted {
		t.Errorf("B after A's uninstall: %d files, in bundle %v", n, trusted)
	}
	if _, ok := uninstall(ctx, s, a.ca); ok {
		t.Error("uninstall of a CA in no store reported a store")
	}
	// Debian's own CA, listed in the copy's configuration, stayed in the bundle.
	own, err := os.ReadFile(filepath.Join("/usr/share/ca-certificates", debianCA(t)))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(own); b == nil || !holdsCert(readFile(t, s.bundle), b.Bytes) {
		t.Error("the bundle lost the distribution's CA")
	}
}

// TestSystemReplaceLegacy: the file earlier versions wrote (one name for every CA) is
// found by its certificate and replaced by the new CA's own.
func TestSystemReplaceLegacy(t *testing.T) {
	ctx := ctxT(t)
	s := tempSystemStore(t)
	old, ca := newTestCA(t), newTestCA(t)
	writeCAFileT(t, ca)
	if err := os.WriteFile(filepath.Join(s.dir, "convergence-local-ca.crt"), old.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.runUpdate(ctx); err != nil {
		t.Fatal(err)
	}
	found, trusted, err := s.holds(ctx, old.ca)
	if err != nil || len(found) != 1 || !trusted {
		t.Fatalf("legacy file not found: %q %v %v", found, trusted, err)
	}
	if r := replaceIn(ctx, s, old.ca, ca.ca, found, ca.file); !r.Done {
		t.Fatalf("replace: %+v", r)
	}
	if n, trusted := holdsT(t, s, old); n != 0 || trusted {
		t.Errorf("old CA after replace: %d files, in bundle %v", n, trusted)
	}
	if n, trusted := holdsT(t, s, ca); n != 1 || !trusted {
		t.Errorf("new CA after replace: %d files, in bundle %v", n, trusted)
	}
}

// TestSystemHintCommands runs the commands a person is given in a shell, with a sudo
// that runs its arguments (the tests must not ask for a password).
func TestSystemHintCommands(t *testing.T) {
	ctx := ctxT(t)
	s := tempSystemStore(t)
	c := newTestCA(t)
	writeCAFileT(t, c)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := bin + string(os.PathListSeparator) + os.Getenv("PATH")
	run := func(cmd string) {
		t.Helper()
		sh := exec.CommandContext(ctx, "sh", "-c", cmd)
		sh.Env = append(os.Environ(), "PATH="+path)
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("sh -c %q: %v\n%s", cmd, err, out)
		}
	}
	add := s.addCommand(c.ca, c.file)
	if !strings.HasPrefix(add, "sudo install -m 0644 "+shellQuote(c.file)+" "+filepath.Join(s.dir, c.ca.file+".crt")+" && sudo "+s.update[0]+" --certsconf ") {
		t.Errorf("add command %q", add)
	}
	run(add)
	if n, trusted := holdsT(t, s, c); n != 1 || !trusted {
		t.Fatalf("after the add command: %d files, in bundle %v", n, trusted)
	}
	run(s.removeCommand(c.ca, nil))
	if n, trusted := holdsT(t, s, c); n != 0 || trusted {
		t.Fatalf("after the remove command: %d files, in bundle %v", n, trusted)
	}

	// A store that cannot be written: not done, with the command.
	gone := s
	gone.dir = filepath.Join(t.TempDir(), "missing")
	r := install(ctx, gone, c.ca, c.file)
	if r.Done || r.Err == nil || !strings.Contains(r.Command, "sudo install -m 0644") {
		t.Errorf("install into a missing directory: %+v", r)
	}
}

// TestRealSystemStoreLooked only reads the machine's store: a fresh CA is in it nowhere.
func TestRealSystemStoreLooked(t *testing.T) {
	s, ok := systemStore().(linuxStore)
	if !ok {
		t.Skip("no known system trust store on this machine")
	}
	found, trusted, err := s.holds(ctxT(t), newTestCA(t).ca)
	if err != nil || len(found) > 0 || trusted {
		t.Errorf("%s holds a fresh CA: %q %v %v", s.name(), found, trusted, err)
	}
}
