package settings

import (
	"testing"
	"time"
)

// TestAddEventsBatch: a batch lands in order after what was there, the cap holds, zero
// times are stamped, and a batch with one bad event adds nothing.
func TestAddEventsBatch(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := testCtx(t)
	s.eventCap = 50 // the same code path as 10,000
	t0 := time.Unix(1_700_000_000, 0)
	if _, err := s.AddEvent(ctx, Event{Time: t0, Kind: "verified", Host: "first.test", Port: 1}); err != nil {
		t.Fatal(err)
	}
	batch := make([]Event, 60)
	for i := range batch {
		batch[i] = Event{Time: t0.Add(time.Duration(i+1) * time.Second), Kind: "verified", Host: "h.test", Port: i, Detail: `{"i":1}`}
	}
	batch[59].Time = time.Time{}
	if err := s.AddEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	all, err := s.Events(ctx, 0)
	if err != nil || len(all) != 50 {
		t.Fatalf("Events = %d, %v; want the cap, 50", len(all), err)
	}
	if all[0].Port != 59 || all[0].Time.Before(t0.Add(time.Hour)) {
		t.Errorf("newest = %+v; want the last of the batch, stamped now", all[0])
	}
	for i, e := range all[1:] {
		if want := 58 - i; e.Port != want || e.Host != "h.test" || e.Detail != `{"i":1}` ||
			!e.Time.Equal(t0.Add(time.Duration(want+1)*time.Second)) || e.ID >= all[i].ID {
			t.Fatalf("Events[%d] = %+v; want batch event %d, below the one before it", i+1, e, want)
		}
	}
	for _, bad := range []Event{{Kind: ""}, {Kind: "k", Detail: "{not json"}} {
		if err := s.AddEvents(ctx, []Event{{Kind: "ok"}, bad}); err == nil {
			t.Errorf("AddEvents accepted a bad event %+v", bad)
		}
	}
	if after, err := s.Events(ctx, 0); err != nil || len(after) != 50 || after[0].ID != all[0].ID {
		t.Errorf("after the rejected batches: %d events, %v; want the same 50", len(after), err)
	}
}
