package ui

import (
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/truststore"

	"github.com/convergence-ng/convergence/internal/testsupport/unwritable"
)

// TestSetupCAOneStoreFails: the real application installs with real certutil into a
// home with Chromium's database and a Firefox profile that cannot be written (made
// immutable: the tests run as root, whom file modes do not stop). The Setup tab lists
// both: Chromium installed and verified, with its restart; Firefox not installed, with
// certutil's reason and the command to copy; the summary counts 1 of 2, never "Done".
func TestSetupCAOneStoreFails(t *testing.T) {
	if _, err := exec.LookPath("certutil"); err != nil {
		t.Skip("certutil not installed (libnss3-tools)")
	}
	home := t.TempDir()
	profile := filepath.Join(home, ".mozilla", "firefox", "abcd.default-release")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("certutil", "-N", "-d", "sql:"+profile, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v %s", err, out)
	}
	unwritable.Dir(t, profile)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := core.Open(ctx, core.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:8118", Secrets: settings.NewMemorySecrets(),
		TrustHome: home, TrustOnly: []truststore.Kind{truststore.NSS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	b := &storeBackend{Core: c, store: c.Store, certs: map[string]*x509.Certificate{}}
	u, _ := newTestUI(t, b)

	tap(t, u, "Install in system and browsers")
	text := visibleText(u.win)
	chromium := "Chromium/Chrome database " + filepath.Join(home, ".pki", "nssdb")
	firefox := "Firefox database " + profile
	for _, want := range []string{
		"Installed in 1 of 2 stores; the others, marked below, are not done.",
		chromium + " | Installed, verified: certutil -L -n 'Convergence Local CA ",
		"shows it, trusted for websites (C,,); restart Chromium or Chrome if it is open.",
		firefox + " | Not installed: failed to add ",
		"this user cannot write it: it is read-only. | certutil -A -d sql:" + profile,
		" | Or run | [Copy]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the Setup tab: %s", want, text)
		}
	}
	if strings.Contains(text, "Done:") && strings.Contains(text, "stores found") {
		t.Errorf("the summary says done with a store left: %s", text)
	}
	row := find(u.win, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "certutil -A -d sql:"+profile) })
	copyBtn := find(u.win, func(b *widget.Button) bool { return b.Text == "Copy" && isBeside(u, b, row) })
	if row == nil || copyBtn == nil {
		t.Fatalf("no command to copy: %s", text)
	}
	test.Tap(copyBtn)
	if got := u.app.Clipboard().Content(); got != row.Text {
		t.Errorf("clipboard %q, want the command %q", got, row.Text)
	}
	if !b.Status().CAInstalled || !hasText(u.win, "Almost there: there are no notaries, no browser has loaded the check page with the local authority trusted (step 4).") {
		t.Errorf("banner: %s", visibleText(u.win))
	}
}

// TestSetupCACancelled: a store whose password prompt was dismissed says that nothing
// was changed and how to be asked again, with no command to copy; the summary counts it
// as not done.
func TestSetupCACancelled(t *testing.T) {
	u, _ := newTestUI(t, newStoreBackend(t))
	u.setup.ca.show([]TrustStoreResult{
		{Store: "Chromium/Chrome database /home/ann/.pki/nssdb", State: core.TrustDone, Checked: "certutil shows it", Restart: "Chromium"},
		{Store: "System trust store (Debian, /usr/local/share/ca-certificates)", System: true, State: core.TrustCancelled,
			Err: "failed to add: the administrator password prompt was cancelled: nothing was changed", Command: "sudo install x y"},
	})
	text := visibleText(u.win)
	for _, want := range []string{
		"Installed in 1 of 2 stores",
		"System trust store (Debian, /usr/local/share/ca-certificates) | Not installed: the administrator password prompt was cancelled, so nothing was changed in this store. Press Install to be asked again.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q: %s", want, text)
		}
	}
	if strings.Contains(text, "sudo install") {
		t.Errorf("a cancelled prompt shows a sudo line: %s", text)
	}
}

// TestCASummary: every count of done stores gets words that match it.
func TestCASummary(t *testing.T) {
	done := TrustStoreResult{State: core.TrustDone}
	failed := TrustStoreResult{State: core.TrustFailed}
	for _, tc := range []struct {
		res  []TrustStoreResult
		want string
	}{
		{nil, "No trust store was found."},
		{[]TrustStoreResult{done, done}, "Done: the local authority is installed and verified in all 2 stores found."},
		{[]TrustStoreResult{failed, failed}, "Not installed: none of the 2 stores found could be changed."},
		{[]TrustStoreResult{done, failed, {State: core.TrustCancelled}}, "Installed in 1 of 3 stores;"},
	} {
		if got := caSummary(tc.res); !strings.HasPrefix(got, tc.want) {
			t.Errorf("caSummary(%d results) = %q, want %q...", len(tc.res), got, tc.want)
		}
	}
}

// isBeside reports whether button b is in the same row as label l (copyRow).
func isBeside(u *UI, b *widget.Button, l *widget.Label) bool {
	if l == nil {
		return false
	}
	bp, lp := u.app.Driver().AbsolutePositionForObject(b), u.app.Driver().AbsolutePositionForObject(l)
	return bp.Y <= lp.Y+l.Size().Height && lp.Y <= bp.Y+b.Size().Height
}
