package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// The diversity warnings: notaries that share a host, an address, an operator or a
// network are one notary as far as an attacker is concerned (directory.Shared), and the
// consensus counts them as one vote. Notaries, Setup, the chooser and the preview of a
// notary about to be added say so, in the same words.

// independenceLines words overlaps for a preview: what each pair shares and what that
// means, or that the notary is independent of the others.
func independenceLines(overlaps []directory.Overlap) []string {
	if len(overlaps) == 0 {
		return []string{"Independent: it shares no host, address, operator or network with your other notaries."}
	}
	var out []string
	for _, o := range overlaps {
		out = append(out, o.Warning()+".")
	}
	return out
}

// diversityRows shows overlaps as warnings, or that n notaries are independent.
func diversityRows(ov []directory.Overlap, n int) []fyne.CanvasObject {
	if len(ov) == 0 {
		if n == 0 {
			return nil
		}
		return []fyne.CanvasObject{resultRow(theme.ConfirmIcon(), "Independent: no two of these share a host, an address, an operator or a network.")}
	}
	var rows []fyne.CanvasObject
	for _, o := range ov {
		rows = append(rows, resultRow(theme.WarningIcon(), o.Warning()+"."))
	}
	return rows
}

// diversityBox is the warnings shown on the Notaries and Setup tabs: which of the
// notaries asked count as one vote. Each tab holds its own container, filled by
// refreshDiversity.
func (u *UI) diversityBox() *fyne.Container {
	b := container.NewVBox()
	u.diversityBoxes = append(u.diversityBoxes, b)
	return b
}

// refreshDiversity reads the warnings and shows them in every diversity box.
func (u *UI) refreshDiversity() {
	var ov []directory.Overlap
	u.goWork(func(ctx context.Context) (err error) {
		ov, err = u.backend.DiversityWarnings(ctx)
		return err
	}, func(err error) {
		rows := diversityRows(ov, 0)
		if err != nil {
			rows = []fyne.CanvasObject{resultRow(theme.ErrorIcon(), "Could not check your notaries' independence: "+err.Error())}
		}
		for _, b := range u.diversityBoxes {
			b.Objects = rows
			b.Refresh()
		}
	})
}

// bundlePreview says, for a bundle about to be added from a file or a URL, what it
// shares with the notaries asked now: the chooser's words.
func (u *UI) bundlePreview(ctx context.Context, b protocol.Bundle) (string, error) {
	f, err := u.backend.FactsOfBundle(ctx, b)
	if err != nil {
		return "", err
	}
	ov, err := u.backend.PreviewOverlaps(ctx, []directory.Facts{f})
	if err != nil {
		return "", err
	}
	return strings.Join(independenceLines(ov), "\n"), nil
}
