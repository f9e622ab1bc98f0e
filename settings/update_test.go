package settings

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestUpdateSettingsLosesNoConcurrentChange: two processes (two stores on one data
// dir) each change a different setting at the same time, 20 rounds: with a read, then
// a save of the whole, one change was lost in about a third of the rounds (issue 20);
// with UpdateSettings every change is kept.
func TestUpdateSettingsLosesNoConcurrentChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := openStore(t, dir), openStore(t, dir)
	for round := range 20 {
		want := round%2 == 0
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() {
			_, errs[0] = a.UpdateSettings(ctx, func(s *Settings) error { s.Paused = want; return nil })
		})
		wg.Go(func() {
			_, errs[1] = b.UpdateSettings(ctx, func(s *Settings) error { s.ExemptPrivate = want; return nil })
		})
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		got, err := a.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Paused != want || got.ExemptPrivate != want {
			t.Fatalf("round %d: paused %v, exempt-private %v; want both %v", round, got.Paused, got.ExemptPrivate, want)
		}
	}
}

// TestUpdateSettingsRefusesInvalidAndErrors: an invalid result or an error from the
// change stores nothing.
func TestUpdateSettingsRefusesInvalidAndErrors(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if _, err := s.UpdateSettings(ctx, func(st *Settings) error { st.Threshold = "astrology"; return nil }); !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("invalid threshold: %v, want ErrInvalidSettings", err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateSettings(ctx, func(st *Settings) error { st.Paused = true; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing change: %v, want it returned", err)
	}
	got, _ := s.Settings(ctx)
	if got.Threshold != ThresholdMajority || got.Paused {
		t.Fatalf("settings after refused changes: %+v", got)
	}
}

// TestChangesKeepWhatOthersChanged: the window's form, shown before the terminal
// paused protection, is saved with a new threshold: the pause stays, the threshold
// changes; a form saved unchanged changes nothing.
func TestChangesKeepWhatOthersChanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	window, term := openStore(t, dir), openStore(t, dir)
	shown, err := window.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.UpdateSettings(ctx, func(s *Settings) error { s.Paused = true; return nil }); err != nil {
		t.Fatal(err)
	}
	edited := shown
	edited.Threshold, edited.ThresholdK = ThresholdKOfN, 2
	got, err := window.UpdateSettings(ctx, Changes(shown, edited))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Paused || got.Threshold != ThresholdKOfN || got.ThresholdK != 2 {
		t.Fatalf("after the form's save: paused %v, threshold %s/%d; want the terminal's pause kept and 2-of-n", got.Paused, got.Threshold, got.ThresholdK)
	}
	again, err := window.UpdateSettings(ctx, Changes(got, got))
	if err != nil || again.Paused != got.Paused || again.Threshold != got.Threshold {
		t.Fatalf("an unchanged form changed the settings: %+v, %v", again, err)
	}
}
