package ui

import (
	"fmt"
	"reflect"
	"strings"

	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/settings"
)

// The Settings tab's checks: each field that can be wrong says what is wrong under
// it as it is typed (Fyne's form shows a validator's error in place of the hint), Save
// names every bad field at once, and a line beside Save says when there are changes
// not saved yet.

// addChecks sets the validators and the change hooks. Call it once the widgets exist.
func (t *settingsTab) addChecks() {
	t.upstream.Validator = func(s string) error {
		if err := settings.CheckUpstreamProxy(strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("%v", err)
		}
		return nil
	}
	t.cleartext.Validator = checkCleartextLines
	t.unsaved = widget.NewLabel("")
	t.unsaved.Importance = widget.WarningImportance
	t.unsaved.Hide()
	changed := func(string) { t.changed() }
	for _, s := range []*widget.Select{t.minAge, t.cacheTTL} {
		s.OnChanged = changed
	}
	for _, r := range []*widget.RadioGroup{t.unreachable, t.noAnswer} {
		r.OnChanged = changed
	}
	for _, c := range []*widget.Check{t.exempt, t.notify, t.autostart} {
		c.OnChanged = func(bool) { t.changed() }
	}
	for _, e := range []*tabEntry{t.port, t.upstream, t.cleartext} {
		e.OnChanged = changed
	}
}

// checkCleartextLines says what is wrong with each line of the cleartext field.
func checkCleartextLines(text string) error {
	var bad []string
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if _, err := settings.CanonicalHostPort(line); err != nil {
			msg := strings.TrimPrefix(err.Error(), settings.ErrInvalidSettings.Error()+": cleartext tunnel ")
			bad = append(bad, fmt.Sprintf("line %d: %s", i+1, msg))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(bad, "; "))
}

// fieldProblems names every field whose text is wrong, with what is wrong.
func (t *settingsTab) fieldProblems() []string {
	var out []string
	for _, f := range []struct {
		name string
		e    *tabEntry
	}{{"Proxy port", t.port}, {"Upstream proxy", t.upstream}, {"Cleartext allowed to", t.cleartext}} {
		if err := f.e.Validate(); err != nil {
			out = append(out, f.name+": "+err.Error())
		}
	}
	return out
}

// markShown records the form as it now shows the stored settings: changes are counted
// from it.
func (t *settingsTab) markShown() {
	t.shownForm = t.collect()
	t.changed()
}

// changed shows or hides the unsaved-changes line.
func (t *settingsTab) changed() {
	if t.unsaved == nil {
		return
	}
	if reflect.DeepEqual(t.collect(), t.shownForm) && len(t.fieldProblems()) == 0 {
		t.unsaved.Hide()
		return
	}
	t.unsaved.SetText("Unsaved changes: press Save to apply them")
	t.unsaved.Show()
}
