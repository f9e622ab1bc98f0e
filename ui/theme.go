package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// appTheme is Fyne's default theme with the colours that fail WCAG's contrast minimum
// replaced (issue 15): Fyne v2.7's light disabled text (#e3e3e3 on white, 1.3:1), its
// placeholder (#888 on the input's #f3f3f3, 3.2:1), the unchecked box of a disabled
// checkbox (the disabled colour again), its blue links (4.5:1 on white only by a hair,
// 4.0:1 on dark), the red and orange of warnings used as text (3.6:1 and 2.1:1), and a
// focus tint too faint to see (a 16% blue on a light button). Every text colour here
// has at least 4.5:1 against every background it is drawn on, both variants; the focus
// tint on a button at least 3:1 against the window (theme_test.go measures each pair).
// Sizes, fonts and icons are the default theme's.
type appTheme struct{ fyne.Theme }

// newAppTheme wraps Fyne's default theme.
func newAppTheme() fyne.Theme { return appTheme{theme.DefaultTheme()} }

// Color returns the replaced colour for n in variant v, else the default theme's. Any
// variant but light is dark, as in the default theme.
func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	p := darkColors
	if v == theme.VariantLight {
		p = lightColors
	}
	if c, ok := p[n]; ok {
		return c
	}
	return t.Theme.Color(n, v)
}

// Icon returns a checkbox outline with a border half again as thick as Fyne's (3 of
// 24 units, 2.5 px at the 20 px inline size, instead of 1.7 px): Fyne's thin border,
// antialiased across two pixels, never reaches its own colour on screen, so a box that
// measures 4.6:1 in theory is drawn at 2.1:1. Other icons are the default theme's.
func (t appTheme) Icon(n fyne.ThemeIconName) fyne.Resource {
	if n == theme.IconNameCheckButton {
		return checkBoxOutline
	}
	return t.Theme.Icon(n)
}

// checkBoxOutline is Material's check_box_outline_blank with the inner square 6..18
// instead of 5..19. The widget recolours it (input border, or disabled).
var checkBoxOutline = fyne.NewStaticResource("check-box-outline.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">`+
	`<path fill="#000000" d="M19 3H5c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h14c1.1 0 2-.9 2-2V5c0-1.1-.9-2-2-2zm-1 15H6V6h12v12z"/></svg>`))

func rgb(r, g, b uint8) color.NRGBA { return color.NRGBA{R: r, G: g, B: b, A: 0xff} }

// lightColors replace the light variant's failing colours. The window is white, inputs
// #f3f3f3, buttons #f5f5f5 (the default theme's).
var lightColors = map[fyne.ThemeColorName]color.Color{
	theme.ColorNameForeground:  rgb(0x1f, 0x1f, 0x1f), // dark enough to stay legible on the focus tint
	theme.ColorNamePlaceHolder: rgb(0x69, 0x69, 0x69),
	theme.ColorNameDisabled:    rgb(0x69, 0x69, 0x69), // disabled text and a disabled checkbox's box
	theme.ColorNameInputBorder: rgb(0x6b, 0x6b, 0x6b), // an enabled checkbox's box, an entry's border
	theme.ColorNamePrimary:     rgb(0x1a, 0x5c, 0xd0),
	theme.ColorNameHyperlink:   rgb(0x1a, 0x5c, 0xd0),
	theme.ColorNameError:       rgb(0xc4, 0x22, 0x1b),
	theme.ColorNameWarning:     rgb(0xa3, 0x4a, 0x00),
	theme.ColorNameSuccess:     rgb(0x1b, 0x7a, 0x34),
	theme.ColorNameFocus:       color.NRGBA{R: 0x2f, G: 0x74, B: 0xe8, A: 0xd8},
}

// darkColors replace the dark variant's failing colours. The window is #171718, inputs
// #202023, buttons #28292e. Filled buttons (primary, danger) carry dark text, as
// Fyne's own yellow and green primaries do: a colour light enough to read on the
// dark window is too light for white text.
var darkColors = map[fyne.ThemeColorName]color.Color{
	theme.ColorNameForeground:          rgb(0xff, 0xff, 0xff),
	theme.ColorNameDisabled:            rgb(0x9a, 0x9a, 0x9a),
	theme.ColorNameInputBorder:         rgb(0x99, 0x99, 0x99),
	theme.ColorNamePrimary:             rgb(0x7a, 0xaa, 0xff),
	theme.ColorNameHyperlink:           rgb(0x7a, 0xaa, 0xff),
	theme.ColorNameForegroundOnPrimary: rgb(0x17, 0x17, 0x18),
	theme.ColorNameError:               rgb(0xff, 0x6e, 0x64),
	theme.ColorNameForegroundOnError:   rgb(0x17, 0x17, 0x18),
	theme.ColorNameFocus:               color.NRGBA{R: 0x84, G: 0x78, B: 0xe0, A: 0xd0},
}
