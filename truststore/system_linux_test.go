//go:build linux

package truststore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The real system store is left alone even as root; the file placement is checked in a
// temporary directory and the refresh command is not run.
func TestInstallSystemAt(t *testing.T) {
	dir := t.TempDir()
	pemBytes := testCAPEM(t)
	if err := installSystemAt(context.Background(), dir, "", pemBytes, "Convergence Local CA 0a1b/../x"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "Convergence_Local_CA_0a1b____x.crt"))
	if err != nil || !bytes.Equal(got, pemBytes) {
		t.Fatalf("installed file: %v", err)
	}
}
