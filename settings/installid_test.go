package settings

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestInstallIDMadeOnceAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := InstallID(dir)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || !installIDPattern.MatchString(id) {
			t.Fatalf("ids %q: want one id of 32 hex digits", ids)
		}
	}
	path := filepath.Join(dir, InstallIDFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != PrivateFileMode {
		t.Errorf("install id file: %v, %v; want mode 0600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want the id file alone (no temp files)", len(entries))
	}
	if again, err := InstallID(dir); err != nil || again != ids[0] {
		t.Errorf("InstallID again = %q, %v; want %q", again, err, ids[0])
	}
}

func TestInstallIDDamagedIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, InstallIDFile)
	if err := os.WriteFile(path, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := InstallID(dir)
	if err == nil || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("InstallID of a damaged file: %v; want an error naming the fix", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "half" {
		t.Errorf("the damaged file was replaced with %q", b)
	}
}
