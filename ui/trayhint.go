package ui

// trayHintKey is the preference that records that the one-time hint was shown.
const trayHintKey = "tray-hint-shown"

// trayHint is the one-time hint the first close of the window gives: a new user who
// closes it must not think protection ended, nor look for the app in vain.
var trayHint = notification{
	Title: "Convergence is still protecting you",
	Body:  "Closing the window keeps Convergence running in the tray, checking the sites you visit. Open it again from the tray icon; Quit is in its menu.",
}

// hideToTray hides the window, the close button's action when the app has a tray; the
// first time ever, it says so in a notification (whatever the notification setting,
// which is about sites: this is said once).
func (u *UI) hideToTray() {
	u.win.Hide()
	p := u.app.Preferences()
	if p.Bool(trayHintKey) {
		return
	}
	p.SetBool(trayHintKey, true)
	select {
	case u.notifyCh <- trayHint:
	default: // the sender is stuck on D-Bus; the hint is not worth blocking for
	}
}
