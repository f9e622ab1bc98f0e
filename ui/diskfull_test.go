package ui

import (
	"strings"
	"sync/atomic"
	"testing"
)

// diskFullBackend is the real store backend with Status reporting a full disk while
// full is set. The full disk itself is real in core's TestDiskFullAndBack (a 1 MiB
// tmpfs, needing root); here only the window's side of it is under test.
type diskFullBackend struct {
	*storeBackend
	full atomic.Bool
}

func (b *diskFullBackend) Status() Status {
	st := b.storeBackend.Status()
	st.DiskFull = b.full.Load()
	return st
}

// TestDiskFullShown: while the store's writes fail for lack of space, the window's
// title (the tray's line), the Activity header and the Setup banner say that the
// disk is full; when a write succeeds again, they stop saying it.
func TestDiskFullShown(t *testing.T) {
	b := &diskFullBackend{storeBackend: newStoreBackend(t)}
	// With a notary: none set up would outrank the full disk in the tray.
	b.importFile(t, writeBundle(t, t.TempDir(), "Alpha", "alpha.example.org"))
	u, _ := newTestUI(t, b)
	if strings.Contains(u.win.Title(), "disk is full") {
		t.Fatalf("title before the disk is full: %q", u.win.Title())
	}

	b.full.Store(true)
	u.RefreshStatus()
	waitIdle(t, u)
	if want := "Convergence: " + diskFullLine; u.win.Title() != want {
		t.Errorf("title on a full disk: %q, want %q", u.win.Title(), want)
	}
	if !strings.HasPrefix(u.activity.status.Text, diskFullLine) {
		t.Errorf("Activity header on a full disk: %q", u.activity.status.Text)
	}
	if !strings.HasPrefix(u.setup.banner.Text, diskFullLine) {
		t.Errorf("Setup banner on a full disk: %q", u.setup.banner.Text)
	}

	b.full.Store(false)
	u.RefreshStatus()
	waitIdle(t, u)
	for what, text := range map[string]string{"title": u.win.Title(), "Activity header": u.activity.status.Text, "Setup banner": u.setup.banner.Text} {
		if strings.Contains(text, "disk is full") {
			t.Errorf("%s once the disk has space again: %q", what, text)
		}
	}
}
