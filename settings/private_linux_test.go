package settings

import (
	"os"
	"strings"
	"testing"
)

// TestOpenUnrestrictableDataDir: a data dir readable by others that cannot be made
// private is refused with the fix, not used as it is.
func TestOpenUnrestrictableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can make a dir its owner cannot chmod (chattr +i)")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, dir) // immutable: chmod fails for root too
	_, err := Open(testCtx(t), dir)
	checkDirError(t, err, dir)
	if !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("error %q does not name the chmod that fixes it", err)
	}
}
