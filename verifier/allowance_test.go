package verifier

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestAllowanceEndsByItself: an allowance makes its destination exempt until it ends,
// by itself at its time or when removed; it is bounded in length and in number.
func TestAllowanceEndsByItself(t *testing.T) {
	e := newEnv(t, nil)
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	v := e.start(Config{now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	shop := Target{Host: "shop.test", Port: 443}
	if v.Exempt(shop) {
		t.Fatal("shop.test is exempt before any allowance")
	}
	a, err := v.Allow("Shop.Test.", 443, 10*time.Minute, "you allowed it from the block page")
	if err != nil {
		t.Fatal(err)
	}
	if a.Host != "shop.test" || !a.Until.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("allowance %+v", a)
	}
	if _, err := v.Allow("portal.test", 0, 10*time.Minute, "captive portal sign-in page"); err != nil {
		t.Fatal(err)
	}
	if !v.Exempt(shop) || v.Exempt(Target{Host: "shop.test", Port: 8443}) {
		t.Error("the allowance for shop.test:443 does not cover exactly that port")
	}
	if !v.Exempt(Target{Host: "portal.test", Port: 443}) || !v.Exempt(Target{Host: "portal.test", Port: 8443}) {
		t.Error("an allowance with port 0 does not cover every port")
	}
	if got := v.Allowances(); len(got) != 2 {
		t.Fatalf("Allowances() = %+v, want 2", got)
	}
	advance(10 * time.Minute)
	if v.Exempt(shop) || v.Exempt(Target{Host: "portal.test", Port: 443}) || len(v.Allowances()) != 0 {
		t.Errorf("after 10 minutes an allowance still holds: %+v", v.Allowances())
	}

	if _, err := v.Allow("shop.test", 443, time.Minute, "x"); err != nil {
		t.Fatal(err)
	}
	if !v.Disallow("shop.test", 443) || v.Exempt(shop) || v.Disallow("shop.test", 443) {
		t.Error("Disallow did not end the allowance exactly once")
	}
	for _, d := range []time.Duration{0, -time.Minute, MaxAllowFor + time.Second} {
		if _, err := v.Allow("shop.test", 443, d, "x"); !errors.Is(err, ErrAllowance) {
			t.Errorf("Allow for %s: %v, want ErrAllowance", d, err)
		}
	}
	if _, err := v.Allow("bad name!", 443, time.Minute, "x"); !errors.Is(err, ErrAllowance) {
		t.Errorf("Allow of a bad name: %v", err)
	}
	for i := range maxAllowances + 10 {
		advance(time.Millisecond)
		if _, err := v.Allow("shop.test", i+1, time.Minute, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(v.Allowances()); n != maxAllowances {
		t.Errorf("%d allowances kept, want the bound %d", n, maxAllowances)
	}
	if v.Exempt(Target{Host: "shop.test", Port: 1}) || !v.Exempt(Target{Host: "shop.test", Port: maxAllowances + 10}) {
		t.Error("the bound did not drop the oldest allowance")
	}
}
