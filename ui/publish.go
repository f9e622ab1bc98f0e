package ui

import (
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// Publish hands the UI one event from the verifier: it joins the Activity list, may
// raise a notification and turns the tray to alert. Safe for concurrent use; it never
// blocks on the UI or on D-Bus.
func (u *UI) Publish(ev verifier.Event) {
	if ev.Time.IsZero() {
		ev.Time = u.now()
	}
	var send *notification
	u.mu.Lock()
	if len(u.events) >= u.opts.MaxActivity {
		// Drop the oldest tenth at once so that appends stay amortised O(1).
		drop := max(1, u.opts.MaxActivity/10)
		u.events = append(u.events[:0], u.events[drop:]...)
	}
	u.events = append(u.events, ev)
	u.outage = nextOutage(u.outage, ev)
	if isAlert(ev) {
		u.alerts = addAlert(u.alerts, ev, trayAlerts) // without repeats (visits.go)
		if alarming(ev) {
			u.lastAlert = ev.Time
		}
		u.scheduleAlertEndLocked()
		if u.notifyOn && u.limiter.allow(notifyKey(ev), ev.Time) {
			n := notificationFor(ev)
			n.Event = &ev // its actions open this verdict (notifyactions.go)
			send = &n
		}
	}
	u.mu.Unlock()
	if send != nil {
		select {
		case u.notifyCh <- *send:
		default: // the sender is stuck on D-Bus; drop rather than block the verifier
		}
	}
	if u.refreshPending.CompareAndSwap(false, true) {
		u.onUI(func() {
			u.refreshPending.Store(false)
			u.activity.refresh()
			u.notaries.refreshHealth()
			u.updateTray()
		})
	}
}

// scheduleAlertEndLocked arranges for the tray to leave the alert state when it ends.
// u.mu must be held.
func (u *UI) scheduleAlertEndLocked() {
	if u.alertTimer != nil {
		u.alertTimer.Stop()
	}
	u.alertTimer = time.AfterFunc(alertFor, func() {
		if u.ctx.Err() == nil {
			u.onUI(u.updateTray)
		}
	})
}

// snapshot returns a copy of the events, oldest first.
func (u *UI) snapshot() []verifier.Event {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]verifier.Event(nil), u.events...)
}
