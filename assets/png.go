package assets

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"sync"

	"fyne.io/fyne/v2"
	"github.com/fyne-io/oksvg"
	"github.com/srwiley/rasterx"
)

// The tray and the window manager take bitmaps, not SVG: fyne hands the bytes of a
// tray icon to the StatusNotifierItem as they are, and the systray decodes them with
// image.Decode (an SVG fails there with "unknown format"). These PNG versions are
// drawn from the same SVG when first used, so the SVG stays the only source.
var (
	// AppIconPNG is AppIcon as a 256 px PNG, for the window and the app.
	AppIconPNG fyne.Resource = &pngResource{src: AppIcon, size: 256}
	// TrayProtectingPNG is TrayProtecting as a 64 px PNG.
	TrayProtectingPNG fyne.Resource = &pngResource{src: TrayProtecting, size: 64}
	// TrayAlertPNG is TrayAlert as a 64 px PNG.
	TrayAlertPNG fyne.Resource = &pngResource{src: TrayAlert, size: 64}
	// TrayPausedPNG is TrayPaused as a 64 px PNG.
	TrayPausedPNG fyne.Resource = &pngResource{src: TrayPaused, size: 64}
	// TrayProblemPNG is TrayProblem as a 64 px PNG.
	TrayProblemPNG fyne.Resource = &pngResource{src: TrayProblem, size: 64}
	// TrayOfflinePNG is TrayOffline as a 64 px PNG.
	TrayOfflinePNG fyne.Resource = &pngResource{src: TrayOffline, size: 64}
)

// pngResource draws an SVG resource as a square PNG once, when its content is first
// asked for. Safe for concurrent use.
type pngResource struct {
	src  fyne.Resource
	size int
	once sync.Once
	data []byte
}

// Name implements fyne.Resource.
func (p *pngResource) Name() string { return p.src.Name() + ".png" }

// Content implements fyne.Resource; it is empty if the SVG cannot be drawn, which
// the package's test rules out for the embedded icons.
func (p *pngResource) Content() []byte {
	p.once.Do(func() {
		b, err := rasterize(p.src.Content(), p.size)
		if err != nil {
			fyne.LogError("Convergence could not draw an icon", err)
			return
		}
		p.data = b
	})
	return p.data
}

// rasterize draws an SVG into a size x size PNG.
func rasterize(svg []byte, size int) ([]byte, error) {
	icon, err := oksvg.ReadIconStream(bytes.NewReader(svg))
	if err != nil {
		return nil, fmt.Errorf("failed to read SVG icon: %w", err)
	}
	icon.SetTarget(0, 0, float64(size), float64(size))
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	icon.Draw(rasterx.NewDasher(size, size, rasterx.NewScannerGV(size, size, img, img.Bounds())), 1)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("failed to encode icon as PNG: %w", err)
	}
	return buf.Bytes(), nil
}
