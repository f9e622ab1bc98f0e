package ui

import (
	"image"
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/settings"
)

// fixedVariant draws the app's theme in one variant whatever the settings ask: the
// test driver's settings have no variant of their own.
type fixedVariant struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (f fixedVariant) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return f.Theme.Color(n, f.v)
}

// inVariant switches the test app to the app's theme in variant v until the test ends.
func inVariant(t *testing.T, v fyne.ThemeVariant) {
	s := fyne.CurrentApp().Settings()
	s.SetTheme(fixedVariant{newAppTheme(), v})
	t.Cleanup(func() { s.SetTheme(newAppTheme()) })
}

// objectRect is where o is drawn in the window's captured image (scale 1 in the test
// driver).
func objectRect(o fyne.CanvasObject) image.Rectangle {
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	s := o.Size()
	return image.Rect(int(p.X), int(p.Y), int(p.X+s.Width), int(p.Y+s.Height))
}

// maxContrast is the highest contrast any pixel of img in r has against bg.
func maxContrast(img image.Image, r image.Rectangle, bg color.Color) float64 {
	best := 1.0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := contrast(img.At(x, y), bg); c > best {
				best = c
			}
		}
	}
	return best
}

// TestRenderedUncheckedBoxContrast renders the Notaries tab with a notary that is not
// asked (its "Ask this notary" box unchecked) and measures the box's outline, as drawn,
// against the window behind it: at least 4.5:1 (issue 15). With Fyne's default theme
// the outline is #e3e3e3 on white, 1.3:1.
func TestRenderedUncheckedBoxContrast(t *testing.T) {
	b := newStoreBackend(t)
	if _, err := b.store.PutNotary(ctxT(t), settings.Notary{Name: "Quiet Notary", Region: "DE", Enabled: false,
		Hosts: []settings.NotaryHost{{Host: "quiet.example.org", SSLPort: 443, HTTPPort: 80}}}); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, b)
	for _, vr := range variants {
		t.Run(vr.name, func(t *testing.T) {
			inVariant(t, vr.v)
			u.notaries.reload()
			selectTab(t, u, "Notaries")
			box := find(u.win, func(c *widget.Check) bool { return c.Text == "Ask this notary" && !c.Checked })
			if box == nil {
				t.Fatalf("no unchecked \"Ask this notary\" box on the Notaries tab: %s", visibleText(u.win))
			}
			img := u.win.Canvas().Capture()
			r := objectRect(box)
			icon := int(theme.Size(theme.SizeNameInlineIcon) + 2*theme.Padding())
			r.Max.X = r.Min.X + icon // the box only, not its label
			bg := img.At(r.Min.X, r.Min.Y)
			// The card the box sits on, read off the image: the window's background.
			got := maxContrast(img, r, bg)
			t.Logf("%s: unchecked box outline %.2f:1 against %v", vr.name, got, bg)
			if got < 4.5 {
				t.Errorf("%s: the unchecked box of a notary not asked has %.2f:1 against its background, want at least 4.5:1", vr.name, got)
			}
		})
	}
}

// TestRenderedFocusVisible: Tab (the driver's FocusNext) onto a button changes its
// fill, as drawn, by at least 3:1 against the unfocused fill, and its label stays at
// 4.5:1 on the focused fill; in both variants.
func TestRenderedFocusVisible(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	for _, vr := range variants {
		t.Run(vr.name, func(t *testing.T) {
			inVariant(t, vr.v)
			selectTab(t, u, "Notaries")
			c := u.win.Canvas()
			c.Unfocus()
			btn := button(t, u.win, "Add from file…")
			r := objectRect(btn)
			// A point inside the button left of its icon: fill only.
			at := image.Pt(r.Min.X+3, (r.Min.Y+r.Max.Y)/2)
			before := c.Capture().At(at.X, at.Y)
			for i := 0; i < 50 && c.Focused() != btn; i++ {
				c.FocusNext() // what the desktop driver does on Tab
			}
			if c.Focused() != btn {
				t.Fatalf("Tab never reached the %q button (focused: %T)", btn.Text, c.Focused())
			}
			img := c.Capture()
			after := img.At(at.X, at.Y)
			change := contrast(before, after)
			label := maxContrast(img, r, after)
			t.Logf("%s: focused fill %v vs unfocused %v: %.2f:1; label on the focused fill %.2f:1", vr.name, after, before, change, label)
			if change < 3 {
				t.Errorf("%s: focusing a button changes its fill by %.2f:1, want at least 3:1 to be seen", vr.name, change)
			}
			if label < 4.5 {
				t.Errorf("%s: a focused button's label has %.2f:1 on its fill, want at least 4.5:1", vr.name, label)
			}
			c.Unfocus()
		})
	}
}
