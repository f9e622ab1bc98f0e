// Package traytest holds only tests: they run the real Fyne app with the tray on a
// session bus and read the StatusNotifierItem and its dbusmenu, as a desktop shell does.
package traytest
