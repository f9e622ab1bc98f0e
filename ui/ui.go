package ui

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"github.com/convergence-ng/convergence/assets"
	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// Defaults for Options.
const (
	defaultMaxActivity = 10000
	// notifyEvery is the least time between two notifications about one site.
	notifyEvery = 5 * time.Minute
	// alertFor is how long the tray shows the alert icon after notaries disagreed.
	alertFor = 15 * time.Minute
	// undoFor is how long the Undo of a revoke stays offered.
	undoFor = 8 * time.Second
	// trayAlerts is how many recent alerts the tray menu lists.
	trayAlerts = 5
)

// Options tune New. The zero value is valid: no tray, default limits.
type Options struct {
	// Tray installs the system tray icon and menu, and makes closing the window hide
	// it instead of quitting. Set it only when a session bus exists: the systray
	// library crashes on quit without one (fyne issue 6403).
	Tray bool
	// MaxActivity bounds the verdicts kept in the Activity list; default 10000.
	MaxActivity int
	// AutostartExec is the command started at login; default the running executable.
	AutostartExec []string
	// Notices are what went wrong at start without stopping the app (a database moved
	// aside, no keyring), each in plain words with its fix; shown once, at the first Show.
	Notices []string
	// Keyring, when set, says the keyring did not answer at start and the local CA's
	// key is kept in a file; a dialog says so, with what to do, at the first Show.
	Keyring *settings.Fallback
	// InTray, with Tray, says the app starts with only its tray shown: the caller runs
	// RunInTray on the main goroutine, and starts the Fyne app only when it returns true.
	InTray bool
}

// UI is the desktop app's face: main window, tray and notifications. Build it with
// New; Publish may be called from any goroutine, the other methods from the UI
// goroutine (or before the app runs).
type UI struct {
	app     fyne.App
	backend Backend
	opts    Options
	win     fyne.Window
	tabs    *container.AppTabs
	// tabItems are the tabs of tabs, by name (selectTab).
	tabItems [tabCount]*container.TabItem

	ctx    context.Context // cancelled by Close; owns every goroutine the UI starts
	cancel context.CancelFunc
	work   sync.WaitGroup // every goroutine the UI started; Close waits on it
	tasks  sync.WaitGroup // goWork tasks in flight; tests wait on it

	activity *activityTab
	notaries *notariesTab
	cache    *cacheTab
	settings *settingsTab
	setup    *setupTab
	// diversityBoxes show which notaries count as one vote (diversity.go); UI goroutine only.
	diversityBoxes []*fyne.Container
	// decisions is "Your decisions" (decisions.go).
	decisions *decisionsTab

	onUI func(func()) // runs a function on the UI goroutine (loop.do, or the tests' queue)
	loop *trayLoop    // nil in tests
	// quitting is raised once the app is asked to quit (teardown.go).
	quitting *quitSignal
	tray     *sysTray // used only with Options.Tray; UI goroutine only
	trayKey  string   // what the tray shows now; UI goroutine only
	// noticesShown is set once Options.Notices were shown; UI goroutine only.
	noticesShown bool
	// historyLoaded is set once the first Show started loading earlier runs' verdicts;
	// UI goroutine only.
	historyLoaded bool
	notifier      notifier
	notifyCh      chan notification // to the notification sender goroutine
	autostart     autostarter
	statusNotes   statusNotices // what status changes were told of (setupcheck.go); UI goroutine only
	now           func() time.Time

	mu         sync.Mutex // protects the fields below
	events     []verifier.Event
	alerts     []verifier.Event // newest last, at most trayAlerts
	lastAlert  time.Time        // the last alert that is evidence of an attack (alarming)
	outage     *outage          // the notaries cannot be reached (nextOutage); nil: they can
	limiter    rateLimiter
	notifyOn   bool
	notaryN    int // enabled, unrevoked notaries; -1 until known
	alertTimer *time.Timer

	refreshPending atomic.Bool // an activity refresh is queued on the UI goroutine
}

// New builds the main window (not shown yet), the tray when opts.Tray is set, and the
// notification sender, and starts loading the backend's state in the background. It
// does not block on the backend. Call Close when the app quits.
func New(a fyne.App, backend Backend, opts Options) *UI {
	loop := newTrayLoop(opts.InTray && opts.Tray)
	u := newUI(a, backend, opts, defaultNotifier(a), loop.do)
	u.loop = loop
	return u
}

// newUI is New with the notifier and the way to run code on the UI goroutine chosen by
// the caller: tests record notifications and run UI code on the test's goroutine.
func newUI(a fyne.App, backend Backend, opts Options, n notifier, onUI func(func())) *UI {
	if opts.MaxActivity <= 0 {
		opts.MaxActivity = defaultMaxActivity
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{
		app:      a,
		backend:  backend,
		opts:     opts,
		ctx:      ctx,
		cancel:   cancel,
		notifier: n,
		onUI:     onUI,
		tray:     &sysTray{onUI: onUI},
		notifyCh: make(chan notification, 16),
		now:      time.Now,
		limiter:  rateLimiter{every: notifyEvery},
		notifyOn: true,
		notaryN:  -1,
		quitting: newQuitSignal(),
	}
	u.autostart = newAutostarter(opts.AutostartExec)
	a.SetIcon(assets.AppIconPNG) // window managers and the tray take bitmaps
	// Contrast and focus that meet WCAG (theme.go). A theme the app sets makes Fyne stop
	// watching its settings file and the desktop's dark/light switch: the variant is
	// the desktop's at start, and a switch shows at the next start.
	a.Settings().SetTheme(newAppTheme())

	u.win = a.NewWindow("Convergence")
	u.win.SetIcon(assets.AppIconPNG)
	u.activity = newActivityTab(u)
	u.notaries = newNotariesTab(u)
	u.cache = newCacheTab(u)
	u.settings = newSettingsTab(u)
	u.setup = newSetupTab(u)
	u.decisions = newDecisionsTab(u)
	u.tabItems = [tabCount]*container.TabItem{
		tabActivity:  container.NewTabItemWithIcon("Activity", theme.HistoryIcon(), u.activity.content),
		tabNotaries:  container.NewTabItemWithIcon("Notaries", theme.AccountIcon(), u.notaries.content),
		tabCache:     container.NewTabItemWithIcon("Cache", theme.StorageIcon(), u.cache.content),
		tabDecisions: container.NewTabItemWithIcon("Your decisions", theme.ConfirmIcon(), u.decisions.content),
		tabSettings:  container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), u.settings.content),
		tabSetup:     container.NewTabItemWithIcon("Setup", theme.InfoIcon(), u.setup.content),
	}
	u.tabs = container.NewAppTabs(u.tabItems[:]...)
	u.tabs.OnSelected = func(t *container.TabItem) {
		switch t {
		case u.tabItems[tabCache]:
			u.cache.reload()
		case u.tabItems[tabDecisions]:
			u.decisions.reload()
		}
	}
	u.win.SetContent(u.tabs)
	u.addTabKeys() // tabkeys.go
	u.win.Resize(fyne.NewSize(900, 600))
	u.win.SetOnDropped(u.notaries.dropped)
	if opts.Tray {
		u.win.SetCloseIntercept(u.hideToTray) // trayhint.go
	} else { // closing the window quits
		u.win.SetMaster()
		u.win.SetOnClosed(u.quitting.raise)
	}

	u.work.Add(1)
	go func() { // ends when Close cancels ctx
		defer u.work.Done()
		u.sendNotifications(ctx)
	}()
	u.Reload()
	u.updateTray()
	return u
}

// loadHistory puts the verdicts of earlier runs in the Activity list, before the ones
// that arrived since start. They raise no alert and no notification: they are old news.
// withoutLive drops from past (the history read at the first Show) the events that
// also came live meanwhile: the history is read while verdicts go on, so an event
// published after the read began can be in both, and showed twice in Activity.
func withoutLive(past, live []verifier.Event) []verifier.Event {
	if len(live) == 0 {
		return past
	}
	key := func(ev verifier.Event) string {
		return fmt.Sprintf("%s|%s|%s|%d", ev.Kind, ev.Verdict.Target, ev.Notary, ev.Time.UnixMilli())
	}
	seen := make(map[string]bool, len(live))
	for _, ev := range live {
		seen[key(ev)] = true
	}
	out := past[:0:0]
	for _, ev := range past {
		if !seen[key(ev)] {
			out = append(out, ev)
		}
	}
	return out
}

func (u *UI) loadHistory() {
	var past []verifier.Event
	u.goWork(func(ctx context.Context) error {
		var err error
		past, err = u.backend.History(ctx, u.opts.MaxActivity)
		// Reading a full history (10,000 rows) leaves about three times what it keeps
		// as garbage; the runtime would hold on to those pages for the app's life (55 MB
		// of resident memory measured, scripts/rss.sh). Give them back now.
		debug.FreeOSMemory()
		return err
	}, func(err error) {
		if err != nil || len(past) == 0 {
			return // the list starts empty, as on a first run; nothing for the user to do
		}
		u.mu.Lock()
		live := u.events
		past = withoutLive(past, live)
		room := max(0, u.opts.MaxActivity-len(live))
		if len(past) > room {
			past = past[len(past)-room:]
		}
		u.events = append(append(make([]verifier.Event, 0, len(past)+len(live)), past...), live...)
		u.mu.Unlock()
		u.activity.refresh()
		u.notaries.refreshHealth()
	})
}

// Window returns the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Show shows the main window and brings it to the front. The first Show fills the
// Activity list with the verdicts of earlier runs: an app that only sits in the tray
// does not keep them in memory.
func (u *UI) Show() {
	if u.loop != nil && u.loop.inTray() {
		u.loop.handOver() // the caller of RunInTray starts Fyne's loop next
	}
	u.win.Show()
	u.win.RequestFocus()
	u.showNotices()
	if !u.historyLoaded {
		u.historyLoaded = true
		u.loadHistory()
	}
}

// Quit ends the app: it stops Fyne's loop, which takes the windows down with it. Not
// the app's Quit: that closes each window first, and a pointer event that reaches a
// closing window before the loop stops crashes Fyne (fyne issue 5981; it did in the
// tray test, with the window open under the pointer). The windows are hidden first:
// a settings change that Fyne applies after its loop ended must find none shown (see
// hideWindows; it panicked the tray test when its config dir was removed). Quitting
// twice (Fyne also stops its loop on SIGTERM) is harmless.
func (u *UI) Quit() {
	u.quitting.raise()
	u.Ended() // no UI work after this: Fyne's loop ends next
	if u.loop != nil && u.loop.inTray() {
		u.loop.stop() // Fyne's loop never ran: RunInTray returns false
		return
	}
	hideWindows(u.app)
	u.app.Driver().Quit()
}

// RunInTray runs the UI on the calling goroutine, which must be the main one, while the
// app shows only its tray (Options.InTray), so that Fyne's loop, which wakes 60 times a
// second, does not run then. It returns true when a window was shown (the caller then
// runs the Fyne app), false when the app is to end (Quit, or ctx done). Without InTray
// it returns true at once.
func (u *UI) RunInTray(ctx context.Context) bool {
	if u.loop == nil || !u.loop.inTray() {
		return true
	}
	return u.loop.run(ctx)
}

// Do runs f on the UI goroutine; safe from any goroutine, it never blocks.
func (u *UI) Do(f func()) { u.onUI(f) }

// tab names a tab of the main window, in the order the window shows them.
type tab int

const (
	tabActivity tab = iota
	tabNotaries
	tabCache
	tabDecisions
	tabSettings
	// tabSetup is the first-run guide: the window opens on it while there is no notary
	// (the Notaries tab's first load chooses it, since only then is the count known).
	tabSetup
	tabCount
)

// selectTab shows the tab t.
func (u *UI) selectTab(t tab) { u.tabs.Select(u.tabItems[t]) }

// Reload reads the notaries, settings, cache and status from the backend again, in the
// background.
func (u *UI) Reload() {
	u.notaries.reload()
	u.settings.reload()
	u.cache.reload()
	u.decisions.reload()
	u.setup.reload()
}

// RefreshStatus shows the backend's current Status in the tray, the window's title,
// the Activity header and the Setup tab (for a change no event brings, such as a full
// disk). Call it on the UI goroutine (Do).
func (u *UI) RefreshStatus() {
	u.updateTray()
	u.activity.refresh()
	u.setup.reload()
	u.decisions.reload() // an allowance began or ended
	u.noticeStatus(u.backend.Status())
}

// Close stops the UI's background work and waits for it, and removes the tray. The
// window is left to the app.
func (u *UI) Close() {
	u.cancel()
	u.mu.Lock()
	if u.alertTimer != nil {
		u.alertTimer.Stop()
	}
	u.mu.Unlock()
	u.work.Wait()
	u.tray.stop()
}

// goWork runs work off the UI goroutine, then after(err) on it. The work's context
// ends when the UI closes.
func (u *UI) goWork(work func(ctx context.Context) error, after func(err error)) {
	u.work.Add(1)
	u.tasks.Add(1)
	go func() { // ends when work returns; work must honour ctx
		defer u.work.Done()
		err := work(u.ctx)
		if u.ctx.Err() != nil {
			u.tasks.Done()
			return
		}
		u.onUI(func() {
			defer u.tasks.Done() // after after, so that work it starts is counted first
			after(err)
		})
	}()
}
