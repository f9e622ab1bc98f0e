package ui

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/systray"
)

// sysTray shows the tray icon and menu through fyne.io/systray (StatusNotifierItem and
// dbusmenu on Linux) directly rather than through Fyne's desktop.App, which wraps the
// same library: Fyne's tray also opens a hidden window to learn when the session ends,
// and every Fyne window has an OpenGL context. That loads the whole GL stack into an app
// that only sits in the tray; with software rendering (Mesa's llvmpipe and LLVM) it
// doubled the idle app's resident memory, 62 MB without it against 140 MB with it
// (scripts/rss.sh). Ending with the session is the job of SIGTERM (main handles it).
//
// The systray library keeps one tray per process, so a UI has at most one sysTray.
// Its methods run on the UI goroutine.
type sysTray struct {
	onUI    func(func()) // runs a click's action on the UI goroutine
	started bool
	end     func()              // unregisters the tray; set once started
	items   []*systray.MenuItem // the menu's items now, to remove at the next rebuild
	// clicks counts the goroutines that pass menu clicks on; each ends when its item
	// is removed (every rebuild removes the previous items, stop removes the last).
	clicks sync.WaitGroup
}

// start registers the tray on the session bus with a title, and makes activating the
// icon (a left click in most shells) run open.
func (t *sysTray) start(title string, open func()) {
	if t.started {
		return
	}
	t.started = true
	// Before registering: the item tells the shell at registration whether it is only
	// a menu (no Activate) or has an action of its own.
	systray.SetOnTapped(func() { t.onUI(open) })
	var begin func()
	begin, t.end = systray.RunWithExternalLoop(nil, nil)
	begin()
	// Some shells misbehave with an item that has no title (fyne issue 3678).
	systray.SetTitle(title)
}

// show replaces the icon (PNG), the tooltip and the whole menu. Separators and
// disabled items are kept; an item's action runs on the UI goroutine.
func (t *sysTray) show(icon []byte, tooltip string, m *fyne.Menu) {
	systray.SetIcon(icon)
	systray.SetTooltip(tooltip)
	t.clear()
	for _, it := range m.Items {
		if it.IsSeparator {
			systray.AddSeparator()
			continue
		}
		item := systray.AddMenuItem(it.Label, "")
		t.items = append(t.items, item)
		if it.Disabled || it.Action == nil {
			item.Disable()
			continue
		}
		action := it.Action
		t.clicks.Add(1)
		go func() { // ends when the item is removed, which closes ClickedCh
			defer t.clicks.Done()
			for range item.ClickedCh {
				t.onUI(action)
			}
		}()
	}
}

// stop removes the menu, which ends the click goroutines, and unregisters the tray.
func (t *sysTray) stop() {
	if !t.started {
		return
	}
	t.started = false
	t.clear()
	t.clicks.Wait()
	t.end()
}

// clear removes the whole menu. Each item is removed by hand: ResetMenu leaves the
// newest item in place (it removes only IDs below the last one given out), so its
// click channel would never close.
func (t *sysTray) clear() {
	for _, item := range t.items {
		item.Remove()
	}
	t.items = t.items[:0]
	systray.ResetMenu() // the separators
}
