package settings

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPinTermsStored: a pin's end and until-change are stored and read back; ended pins
// are purged, the others stay; DeletePinsChangedFrom ends the until-change pins of a
// site but the one for the certificate it shows now.
func TestPinTermsStored(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	fp := func(c string) string { return strings.Repeat(c, 64) }
	for _, p := range []Pin{
		{Host: "a.example", Port: 443, FingerprintSHA256: fp("a"), Expires: now.Add(-time.Minute)},
		{Host: "a.example", Port: 443, FingerprintSHA256: fp("b"), Expires: now.Add(time.Hour)},
		{Host: "a.example", Port: 443, FingerprintSHA256: fp("c"), UntilChange: true},
		{Host: "a.example", Port: 443, FingerprintSHA256: fp("d"), UntilChange: true},
		{Host: "a.example", Port: 443, FingerprintSHA256: fp("e")},
	} {
		if err := s.PutPin(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	pins, err := s.Pins(ctx)
	if err != nil || len(pins) != 5 || pins[1].Expires.Sub(now.Add(time.Hour)).Abs() > time.Millisecond || !pins[2].UntilChange || pins[0].Live(now) || !pins[1].Live(now) {
		t.Fatalf("pins %+v, %v", pins, err)
	}
	if n, err := s.PurgeExpiredPins(ctx, now); err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want the one that ended", n, err)
	}
	if n, err := s.DeletePinsChangedFrom(ctx, "A.Example.", 443, fp("c")); err != nil || n != 1 {
		t.Fatalf("ended %d until-change pins, %v; want 1 (d: c is shown now)", n, err)
	}
	pins, _ = s.Pins(ctx)
	var left []string
	for _, p := range pins {
		left = append(left, p.FingerprintSHA256[:1])
	}
	if strings.Join(left, "") != "bce" {
		t.Errorf("pins left %q, want b, c and e", left)
	}
}
