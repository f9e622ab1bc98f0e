package assets

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"testing"

	"fyne.io/fyne/v2"
)

func TestIconsAreEmbeddedSVG(t *testing.T) {
	for _, r := range []struct {
		name string
		data []byte
	}{
		{AppIcon.Name(), AppIcon.Content()},
		{TrayProtecting.Name(), TrayProtecting.Content()},
		{TrayAlert.Name(), TrayAlert.Content()},
		{TrayPaused.Name(), TrayPaused.Content()},
		{TrayProblem.Name(), TrayProblem.Content()},
		{TrayOffline.Name(), TrayOffline.Content()},
	} {
		if len(r.data) == 0 {
			t.Errorf("%s: empty resource", r.name)
			continue
		}
		dec := xml.NewDecoder(bytes.NewReader(r.data))
		var root struct {
			XMLName xml.Name
		}
		if err := dec.Decode(&root); err != nil {
			t.Errorf("%s: not well-formed XML: %v", r.name, err)
			continue
		}
		if root.XMLName.Local != "svg" {
			t.Errorf("%s: root element %q, want svg", r.name, root.XMLName.Local)
		}
	}
}

func TestPNGVersionsDecode(t *testing.T) {
	for _, r := range []fyne.Resource{AppIconPNG, TrayProtectingPNG, TrayAlertPNG, TrayPausedPNG, TrayProblemPNG, TrayOfflinePNG} {
		img, err := png.Decode(bytes.NewReader(r.Content()))
		if err != nil {
			t.Errorf("%s: %v", r.Name(), err)
			continue
		}
		// The shield's centre is opaque and coloured; the corner is transparent.
		b := img.Bounds()
		if _, _, _, a := img.At(b.Dx()/2, b.Dy()*3/4).RGBA(); a == 0 {
			t.Errorf("%s: centre is transparent: nothing was drawn", r.Name())
		}
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("%s: corner is not transparent", r.Name())
		}
	}
	if bytes.Equal(TrayProtectingPNG.Content(), TrayPausedPNG.Content()) {
		t.Error("tray states draw the same icon")
	}
}
