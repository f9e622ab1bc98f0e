// Package ui is the desktop face of Convergence: the tray, the main window and the
// notifications, built with Fyne over a Backend that main wires to the real parts.
package ui
