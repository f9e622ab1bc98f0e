package ui

import (
	"errors"
	"testing"

	"fyne.io/fyne/v2"
)

// TestDialogsAnswerEnterAndEscape: the error, information and question dialogs close on
// Escape and Enter; Escape says No, Enter the default answer (No where yes is risky).
func TestDialogsAnswerEnterAndEscape(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	for _, k := range []fyne.KeyName{fyne.KeyEscape, fyne.KeyReturn} {
		u.showError("do this", errors.New("boom"))
		pressKey(t, u, k)
		if hasText(u.win, "Convergence could not do this.") {
			t.Errorf("%s left the error open", k)
		}
		u.inform("Saved", "In effect now.")
		pressKey(t, u, k)
		if hasText(u.win, "In effect now.") {
			t.Errorf("%s left the information open", k)
		}
	}
	for _, tc := range []struct {
		key         fyne.KeyName
		enterSaysNo bool
		want        bool
	}{
		{fyne.KeyReturn, false, true}, {fyne.KeyReturn, true, false},
		{fyne.KeyEscape, false, false}, {fyne.KeyEscape, true, false},
	} {
		got := make(chan bool, 1)
		u.confirm("Sure?", "A question.", tc.enterSaysNo, func(yes bool) { got <- yes })
		pressKey(t, u, tc.key)
		select {
		case yes := <-got:
			if yes != tc.want {
				t.Errorf("%s (enter says no: %v) answered %v, want %v", tc.key, tc.enterSaysNo, yes, tc.want)
			}
		default:
			t.Errorf("%s (enter says no: %v) did not answer", tc.key, tc.enterSaysNo)
		}
		if hasText(u.win, "A question.") {
			t.Errorf("%s left the question open", tc.key)
		}
	}
	// The window's own key handler is back once the dialogs closed.
	if on := u.win.Canvas().OnTypedKey(); on != nil {
		t.Error("a dialog's key handler outlived it")
	}
}
