// Package assets holds the app's icons, drawn by hand as SVG, embedded in the binary and
// handed to Fyne as resources: the app icon and one tray icon per protection state.
package assets

import (
	"embed"

	"fyne.io/fyne/v2"
)

//go:embed *.svg
var files embed.FS

func mustResource(name string) fyne.Resource {
	b, err := files.ReadFile(name)
	if err != nil {
		// The files are embedded at build time; a missing one is a build mistake that
		// the package's test catches, so an empty resource is never seen by a user.
		return fyne.NewStaticResource(name, nil)
	}
	return fyne.NewStaticResource(name, b)
}

// Icons, as SVG resources. They are safe to share between goroutines.
var (
	// AppIcon is the app's icon: a blue shield with three lines converging.
	AppIcon = mustResource("icon.svg")
	// TrayProtecting is the tray icon while the proxy checks sites: a green shield.
	TrayProtecting = mustResource("tray-protecting.svg")
	// TrayAlert is the tray icon after notaries recently disagreed: an orange shield with "!".
	TrayAlert = mustResource("tray-alert.svg")
	// TrayPaused is the tray icon while protection is paused: a grey shield with a pause sign.
	TrayPaused = mustResource("tray-paused.svg")
	// TrayProblem is the tray icon when something stops protection: a red shield with a cross.
	TrayProblem = mustResource("tray-problem.svg")
	// TrayOffline is the tray icon while the notaries cannot be reached (an outage, not
	// an attack): an amber shield with a crossed-out signal.
	TrayOffline = mustResource("tray-offline.svg")
)
