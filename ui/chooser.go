package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/settings"
)

// DirectoryBackend finds notaries in the signed directories and says which of the
// user's notaries are not independent (core.Core's operations, which the terminal
// uses too).
type DirectoryBackend interface {
	// DirectoryEntries lists the notaries of the directories held on disk.
	DirectoryEntries(ctx context.Context) ([]core.DirectoryEntry, error)
	// ChooseNotaries picks up to n notaries as independent as can be, with why,
	// fetching the directories first when none is held.
	ChooseNotaries(ctx context.Context, n int) ([]core.Choice, error)
	// AddDirectoryNotary trusts a notary as its directory gives it.
	AddDirectoryNotary(ctx context.Context, e core.DirectoryEntry) (settings.Notary, error)
	// DiversityWarnings lists the pairs of notaries asked that count as one vote.
	DiversityWarnings(ctx context.Context) ([]directory.Overlap, error)
	// FactsOfBundle and PreviewOverlaps say what a notary about to be added shares with
	// the notaries asked now.
	FactsOfBundle(ctx context.Context, b protocol.Bundle) (directory.Facts, error)
	PreviewOverlaps(ctx context.Context, candidates []directory.Facts) ([]directory.Overlap, error)
}

// chooserModel is what the chooser shows: the directories' notaries, the picks and why,
// and the filters. Pure: the dialog draws it, the tests drive it.
type chooserModel struct {
	entries  []core.DirectoryEntry
	reasons  map[string]string // the chooser's reason for each of its picks
	picked   map[string]bool
	country  string // "" for every country
	operator string // "" for every operator
}

func newChooserModel(entries []core.DirectoryEntry, picks []core.Choice) *chooserModel {
	m := &chooserModel{entries: entries, reasons: map[string]string{}, picked: map[string]bool{}}
	m.setPicks(picks)
	return m
}

// setPicks replaces the picks with the chooser's.
func (m *chooserModel) setPicks(picks []core.Choice) {
	clear(m.picked)
	clear(m.reasons)
	for _, p := range picks {
		m.picked[p.Name()] = true
		m.reasons[p.Name()] = p.Reason
	}
}

// visible lists the entries that pass the filters, picks first.
func (m *chooserModel) visible() []core.DirectoryEntry {
	var out []core.DirectoryEntry
	for _, e := range m.entries {
		if (m.country == "" || e.Country == m.country) && (m.operator == "" || e.Operator == m.operator) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b core.DirectoryEntry) int {
		switch pa, pb := m.picked[a.Name()], m.picked[b.Name()]; {
		case pa && !pb:
			return -1
		case pb && !pa:
			return 1
		}
		return 0
	})
	return out
}

// values lists the distinct values of one field of the entries, sorted.
func (m *chooserModel) values(field func(core.DirectoryEntry) string) []string {
	var out []string
	for _, e := range m.entries {
		if v := field(e); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// pickedFacts returns the facts of the picks, in the directory's order.
func (m *chooserModel) pickedFacts() []directory.Facts {
	var out []directory.Facts
	for _, e := range m.entries {
		if m.picked[e.Name()] {
			out = append(out, directory.FactsOf(e.Entry))
		}
	}
	return out
}

// pickedEntries returns the picks, in the directory's order.
func (m *chooserModel) pickedEntries() []core.DirectoryEntry {
	var out []core.DirectoryEntry
	for _, e := range m.entries {
		if m.picked[e.Name()] {
			out = append(out, e)
		}
	}
	return out
}

// why says why e is, or is not, among the picks.
func (m *chooserModel) why(e core.DirectoryEntry) string {
	if r, ok := m.reasons[e.Name()]; ok && m.picked[e.Name()] {
		return "Picked: " + r
	}
	var shared []string
	f := directory.FactsOf(e.Entry)
	for _, p := range m.pickedFacts() {
		if p.Name == f.Name {
			continue
		}
		for _, s := range directory.Shared(f, p) {
			shared = append(shared, fmt.Sprintf("%s with %s", s, p.Name))
		}
	}
	prefix := "Not picked"
	if m.picked[e.Name()] {
		prefix = "Picked by you"
	}
	if len(shared) == 0 {
		return prefix + ": shares nothing with the other picks."
	}
	return prefix + ": shares " + strings.Join(shared, ", ") + "."
}

// showChooser fetches the picks and opens the chooser: the directories' notaries, the
// picks with why, filters by country and operator, the warnings, and Trust.
func (u *UI) showChooser() {
	var (
		entries []core.DirectoryEntry
		picks   []core.Choice
	)
	u.withProgress("Finding notaries", func(ctx context.Context) (err error) {
		if picks, err = u.backend.ChooseNotaries(ctx, directory.DefaultChoose); err != nil {
			return err
		}
		if entries, err = u.backend.DirectoryEntries(ctx); err != nil {
			return err
		}
		// Notaries trusted (or revoked) already are not offered again: a directory's
		// entry under a known name never replaces the notary (core.ErrOtherKeys).
		known, err := u.backend.Notaries(ctx)
		entries = slices.DeleteFunc(entries, func(e core.DirectoryEntry) bool {
			return slices.ContainsFunc(known, func(n settings.Notary) bool { return n.Name == e.Name() })
		})
		return err
	}, func(err error) {
		switch {
		case errors.Is(err, core.ErrNoDirectories):
			u.askDirectory()
		case err != nil:
			u.showError("choose notaries", err)
		default:
			u.openChooser(newChooserModel(entries, picks))
		}
	})
}

// askDirectory asks for a notary directory's URL and key (from its maintainer), keeps
// them in the settings (directory_urls, directory_keys), then chooses from it.
func (u *UI) askDirectory() {
	url, key := newTabEntry(), newTabEntry()
	url.SetPlaceHolder("https://directory.example.org/notaries.directory")
	key.SetPlaceHolder("ed25519:…")
	intro := wrapLabel("Choosing needs a notary directory: a list of notaries signed by someone you trust (your organisation, a community). Give its address and the key its maintainer signs it with.")
	dialog.ShowCustomConfirm("Add a notary directory", "Add and choose", "Cancel", container.NewVBox(intro,
		widget.NewForm(widget.NewFormItem("Address", url), widget.NewFormItem("Key", key))), func(ok bool) {
		if !ok {
			return
		}
		u.withProgress("Saving the directory", func(ctx context.Context) error {
			_, err := u.backend.UpdateSettings(ctx, func(s *settings.Settings) error {
				if v := strings.TrimSpace(url.Text); !slices.Contains(s.DirectoryURLs, v) {
					s.DirectoryURLs = append(s.DirectoryURLs, v)
				}
				if v := strings.TrimSpace(key.Text); !slices.Contains(s.DirectoryKeys, v) {
					s.DirectoryKeys = append(s.DirectoryKeys, v)
				}
				return nil
			})
			return err
		}, func(err error) {
			if err != nil {
				u.showError("add the directory", err)
				return
			}
			u.showChooser()
		})
	}, u.win)
}

// chooserView is the chooser dialog's widgets over its model; UI goroutine only.
type chooserView struct {
	u        *UI
	m        *chooserModel
	list     *fyne.Container
	warnings *fyne.Container
	dlg      dialog.Dialog
	gen      int // which preview the warnings belong to
}

func (u *UI) openChooser(m *chooserModel) *chooserView {
	v := &chooserView{u: u, m: m, list: container.NewVBox(), warnings: container.NewVBox()}
	all := func(word string, vals []string) []string { return append([]string{word}, vals...) }
	country := widget.NewSelect(all("All countries", m.values(func(e core.DirectoryEntry) string { return e.Country })), func(s string) {
		m.country = strings.TrimPrefix(s, "All countries")
		v.redraw()
	})
	country.SetSelectedIndex(0)
	operator := widget.NewSelect(all("All operators", m.values(func(e core.DirectoryEntry) string { return e.Operator })), func(s string) {
		m.operator = strings.TrimPrefix(s, "All operators")
		v.redraw()
	})
	operator.SetSelectedIndex(0)
	count := widget.NewSelect([]string{"1", "2", "3", "4", "5", "6", "7"}, nil)
	count.SetSelected(strconv.Itoa(len(m.picked)))
	count.OnChanged = func(s string) { v.repick(s) }
	intro := wrapLabel("Picked for independence: other operators, countries and networks, so that no one party can make them all lie. Change the picks below if you know better.")
	filters := container.NewHBox(widget.NewLabel("Show"), country, operator, widget.NewLabel("How many"), count)
	body := container.NewBorder(container.NewVBox(intro, filters), v.warnings, nil, nil, container.NewVScroll(v.list))
	v.dlg = dialog.NewCustomConfirm("Choose notaries for me", "Trust the picks", "Cancel", body, func(ok bool) {
		if ok {
			v.trust()
		}
	}, u.win)
	v.dlg.Resize(fyne.NewSize(820, 600))
	v.redraw()
	v.dlg.Show()
	return v
}

// repick asks the chooser again for n picks.
func (v *chooserView) repick(s string) {
	n, _ := strconv.Atoi(s)
	var picks []core.Choice
	v.u.goWork(func(ctx context.Context) (err error) {
		picks, err = v.u.backend.ChooseNotaries(ctx, n)
		return err
	}, func(err error) {
		if err != nil {
			v.u.showError("choose notaries", err)
			return
		}
		v.m.setPicks(picks)
		v.redraw()
	})
}

// redraw rebuilds the list from the model and the warnings from the backend.
func (v *chooserView) redraw() {
	var rows []fyne.CanvasObject
	for _, e := range v.m.visible() {
		name := e.Name()
		check := widget.NewCheck(name, func(on bool) {
			if v.m.picked[name] != on {
				v.m.picked[name] = on
				v.redraw()
			}
		})
		check.SetChecked(v.m.picked[name])
		detail := fmt.Sprintf("%s · %s · network %s · %s · listed %s", e.Operator, e.Country, e.Network,
			strings.Join(directory.FactsOf(e.Entry).Hosts, ", "), e.Listed)
		why := wrapLabel(v.m.why(e))
		why.TextStyle.Italic = true
		rows = append(rows, container.NewVBox(check, wrapLabel(detail), why), widget.NewSeparator())
	}
	if len(rows) == 0 {
		rows = append(rows, wrapLabel("No notary of the directories matches these filters."))
	}
	v.list.Objects = rows
	v.list.Refresh()

	v.gen++
	gen, cands := v.gen, v.m.pickedFacts()
	var ov []directory.Overlap
	v.u.goWork(func(ctx context.Context) (err error) {
		ov, err = v.u.backend.PreviewOverlaps(ctx, cands)
		return err
	}, func(err error) {
		if gen != v.gen {
			return // the picks changed meanwhile
		}
		if err != nil {
			v.warnings.Objects = []fyne.CanvasObject{resultRow(theme.ErrorIcon(), "Could not check the picks' independence: "+err.Error())}
		} else {
			v.warnings.Objects = diversityRows(ov, len(cands))
		}
		v.warnings.Refresh()
	})
}

// trust adds the picks, one by one, and says what was added.
func (v *chooserView) trust() {
	picks := v.m.pickedEntries()
	var added []string
	v.u.withProgress("Adding the notaries", func(ctx context.Context) error {
		for _, e := range picks {
			if _, err := v.u.backend.AddDirectoryNotary(ctx, e); err != nil {
				return err
			}
			added = append(added, e.Name())
		}
		return nil
	}, func(err error) {
		if err != nil {
			v.u.showError("add the notaries", err)
		} else if len(added) > 0 {
			dialog.ShowInformation("Notaries added", strings.Join(added, ", ")+" will be asked from now on.", v.u.win)
		}
		v.u.notaries.reload()
		v.u.setup.reload()
	})
}
