package settings

import (
	"testing"
	"time"
)

func TestEventsNewestFirstAndCap(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	if s.eventCap != DefaultEventCap || DefaultEventCap != 10000 {
		t.Fatalf("cap = %d, want 10000", s.eventCap)
	}
	s.eventCap = 50 // the same code path as 10,000, without 10,000 fsyncs
	t0 := time.Unix(1_700_000_000, 0)
	for i := 0; i < 120; i++ {
		e, err := s.AddEvent(ctx, Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: "verified", Host: "h.test", Port: i, Detail: `{"i":1}`})
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 {
			t.Fatal("AddEvent returned no ID")
		}
	}
	all, err := s.Events(ctx, 0)
	if err != nil || len(all) != 50 {
		t.Fatalf("Events = %d, %v; want the cap, 50", len(all), err)
	}
	for i, e := range all {
		if want := 119 - i; e.Port != want || !e.Time.Equal(t0.Add(time.Duration(want)*time.Second)) {
			t.Fatalf("Events[%d] = %+v; want event %d (newest first)", i, e, want)
		}
	}
	some, err := s.Events(ctx, 3)
	if err != nil || len(some) != 3 || some[0].Port != 119 {
		t.Errorf("Events(3) = %+v, %v", some, err)
	}
	for _, bad := range []Event{{Kind: ""}, {Kind: "k", Detail: "{not json"}} {
		if _, err := s.AddEvent(ctx, bad); err == nil {
			t.Errorf("AddEvent(%+v) accepted a bad event", bad)
		}
	}
	e, err := s.AddEvent(ctx, Event{Kind: "k"})
	if err != nil || e.Time.IsZero() {
		t.Errorf("AddEvent with no time: %+v, %v; want it stamped", e, err)
	}
}
