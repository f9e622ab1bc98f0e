package ui

import (
	"fmt"
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// WCAG 2.x contrast: relative luminance of sRGB colours, ratio (L1+0.05)/(L2+0.05).

// luminance is WCAG's relative luminance of an opaque colour.
func luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
}

// contrast is the WCAG contrast ratio of two opaque colours, from 1 to 21.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over paints c over the opaque colour under, as Fyne's renderer and button do.
func over(c, under color.Color) color.Color {
	f := color.NRGBAModel.Convert(c).(color.NRGBA)
	u := color.NRGBAModel.Convert(under).(color.NRGBA)
	a := float64(f.A) / 255
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*a + float64(y)*(1-a))) }
	return color.NRGBA{R: mix(f.R, u.R), G: mix(f.G, u.G), B: mix(f.B, u.B), A: 0xff}
}

// colourPair is one foreground drawn on one background, and the ratio it needs.
type colourPair struct {
	what   string
	fg, bg color.Color
	min    float64
}

// themePairs lists every (foreground, background) the app's widgets draw with th in
// variant v: text needs 4.5:1 (WCAG 1.4.3), and so, by issue 15, does the unchecked box
// of a checkbox; a focused button's tint needs 3:1 against the window and the
// unfocused button (WCAG 1.4.11), a focused entry's border against the input.
func themePairs(th fyne.Theme, v fyne.ThemeVariant) []colourPair {
	c := func(n fyne.ThemeColorName) color.Color { return th.Color(n, v) }
	bg := c(theme.ColorNameBackground)
	var out []colourPair
	text := func(what string, fg, bg color.Color) {
		out = append(out, colourPair{what, fg, bg, 4.5})
	}
	for _, b := range []struct {
		name string
		col  color.Color
	}{
		{"window", bg},
		{"input", c(theme.ColorNameInputBackground)},
		{"button", c(theme.ColorNameButton)},
		{"hovered button", over(c(theme.ColorNameHover), c(theme.ColorNameButton))},
		{"menu", c(theme.ColorNameMenuBackground)},
		{"dialog", c(theme.ColorNameOverlayBackground)},
		{"list header", c(theme.ColorNameHeaderBackground)},
		{"selected row", over(c(theme.ColorNameSelection), bg)},
	} {
		text("text on "+b.name, c(theme.ColorNameForeground), b.col)
	}
	text("placeholder on input", c(theme.ColorNamePlaceHolder), c(theme.ColorNameInputBackground))
	text("disabled text on window", c(theme.ColorNameDisabled), bg)
	text("disabled text on dialog", c(theme.ColorNameDisabled), c(theme.ColorNameOverlayBackground))
	text("disabled text on disabled button", c(theme.ColorNameDisabled), c(theme.ColorNameDisabledButton))
	text("link on window", c(theme.ColorNameHyperlink), bg)
	text("link on dialog", c(theme.ColorNameHyperlink), c(theme.ColorNameOverlayBackground))
	text("selected tab and primary label on window", c(theme.ColorNamePrimary), bg)
	text("error label on window", c(theme.ColorNameError), bg)
	text("warning label on window", c(theme.ColorNameWarning), bg)
	text("success label on window", c(theme.ColorNameSuccess), bg)
	text("text on primary button", c(theme.ColorNameForegroundOnPrimary), c(theme.ColorNamePrimary))
	text("text on danger button", c(theme.ColorNameForegroundOnError), c(theme.ColorNameError))
	focus := c(theme.ColorNameFocus)
	focusedButton := over(focus, c(theme.ColorNameButton))
	text("text on focused button", c(theme.ColorNameForeground), focusedButton)
	text("text on focused primary button", c(theme.ColorNameForegroundOnPrimary), over(focus, c(theme.ColorNamePrimary)))
	text("text on focused danger button", c(theme.ColorNameForegroundOnError), over(focus, c(theme.ColorNameError)))
	out = append(out,
		colourPair{"disabled checkbox's box on window", c(theme.ColorNameDisabled), bg, 4.5},
		colourPair{"disabled checkbox's box on dialog", c(theme.ColorNameDisabled), c(theme.ColorNameOverlayBackground), 4.5},
		colourPair{"checkbox's box on window", c(theme.ColorNameInputBorder), bg, 4.5},
		colourPair{"focused button on window", focusedButton, bg, 3},
		colourPair{"focused button against unfocused", focusedButton, c(theme.ColorNameButton), 3},
		colourPair{"focused checkbox's ring on window", over(focus, bg), bg, 3},
		colourPair{"focused entry's border on input", c(theme.ColorNamePrimary), c(theme.ColorNameInputBackground), 3},
	)
	return out
}

var variants = []struct {
	name string
	v    fyne.ThemeVariant
}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}}

// failingPairs returns the pairs of th below their minimum, as lines to print.
func failingPairs(th fyne.Theme) (fails []string, all []string) {
	for _, vr := range variants {
		for _, p := range themePairs(th, vr.v) {
			r := contrast(p.fg, p.bg)
			line := fmt.Sprintf("%s: %s: %.2f:1 (needs %.1f)", vr.name, p.what, r, p.min)
			all = append(all, line)
			if r < p.min {
				fails = append(fails, line)
			}
		}
	}
	return fails, all
}

// TestThemeContrast: every text colour of the app's theme has 4.5:1 against each
// background it is drawn on, as does the box of a checkbox, enabled or disabled; the
// focus tint 3:1; in the light and the dark variant. The default theme fails some
// (the test's premise: were it to pass, the replaced colours could go).
func TestThemeContrast(t *testing.T) {
	fails, all := failingPairs(newAppTheme())
	for _, l := range all {
		t.Log("app theme: " + l)
	}
	for _, f := range fails {
		t.Error("app theme: " + f)
	}
	dfails, dall := failingPairs(theme.DefaultTheme())
	for _, l := range dall {
		t.Log("default theme: " + l)
	}
	if len(dfails) == 0 {
		t.Error("Fyne's default theme passes every pair: appTheme's replacements are no longer needed")
	}
}

// TestContrastFormula checks the ratio against WCAG's known values.
func TestContrastFormula(t *testing.T) {
	for _, c := range []struct {
		a, b color.Color
		want float64
	}{
		{color.White, color.Black, 21},
		{rgb(0x76, 0x76, 0x76), color.White, 4.54},
		{rgb(0xe3, 0xe3, 0xe3), color.White, 1.28},
	} {
		if got := contrast(c.a, c.b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("contrast(%v, %v) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}
