package directory

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestEntryRules(t *testing.T) {
	good := testEntry(t, "A", "Op", "DE", "AS1", "2026-01-02", "a.example")
	if _, err := MarshalEntry(good); err != nil {
		t.Fatalf("a good entry: %v", err)
	}
	for name, change := range map[string]func(*Entry){
		"no operator":         func(e *Entry) { e.Operator = "" },
		"lowercase country":   func(e *Entry) { e.Country = "de" },
		"three-letter":        func(e *Entry) { e.Country = "DEU" },
		"no network":          func(e *Entry) { e.Network = "" },
		"no contact":          func(e *Entry) { e.Contact = "" },
		"no protocols":        func(e *Entry) { e.Protocols = nil },
		"protocol 3":          func(e *Entry) { e.Protocols = []int{1, 3} },
		"protocols unordered": func(e *Entry) { e.Protocols = []int{2, 1} },
		"bad date":            func(e *Entry) { e.Listed = "1 Jan 2026" },
		"no bundle":           func(e *Entry) { e.BundleJSON = nil },
		"broken bundle":       func(e *Entry) { e.BundleJSON = []byte(`{"version":1}`) },
	} {
		e := good
		change(&e)
		if _, err := MarshalEntry(e); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: MarshalEntry = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := ParseEntry([]byte(`{"operator":"x","surprise":1}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown member: %v", err)
	}
}

func TestBodyRules(t *testing.T) {
	a := testEntry(t, "A", "Op", "DE", "AS1", "2026-01-02", "a.example")
	d := Directory{Name: "Dir", Issued: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Entries: []Entry{a}}
	body, err := MarshalBody(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseBody(body)
	if err != nil || back.Name != "Dir" || !back.Issued.Equal(d.Issued) || len(back.Entries) != 1 || !bytes.Equal(back.Entries[0].BundleJSON, a.BundleJSON) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	twice := d
	twice.Entries = []Entry{a, a}
	if _, err := MarshalBody(twice); !errors.Is(err, ErrMalformed) {
		t.Errorf("a notary listed twice: %v", err)
	}
	for name, b := range map[string]string{
		"version 2":   `{"version":2,"name":"x","issued":"2026-12-01T00:00:00Z","entries":[]}`,
		"no name":     `{"version":1,"name":"","issued":"2026-12-01T00:00:00Z","entries":[]}`,
		"bad issued":  `{"version":1,"name":"x","issued":"yesterday","entries":[]}`,
		"trailing":    `{"version":1,"name":"x","issued":"2026-12-01T00:00:00Z","entries":[]} {}`,
		"unknown key": `{"version":1,"name":"x","issued":"2026-12-01T00:00:00Z","entries":[],"extra":true}`,
	} {
		if _, err := ParseBody([]byte(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	older := d
	older.Issued = d.Issued.Add(-time.Second)
	if err := CheckNewer(d, older); !errors.Is(err, ErrOlder) {
		t.Errorf("older: %v", err)
	}
	if err := CheckNewer(d, d); err != nil {
		t.Errorf("same: %v", err)
	}
}

func TestKeys(t *testing.T) {
	pub, privPEM, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePublicKey(pub.String())
	if err != nil || !bytes.Equal(back, pub) {
		t.Fatalf("public key round trip: %v", err)
	}
	priv, err := ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	body, err := MarshalBody(Directory{Name: "D", Issued: time.Now(), Entries: []Entry{testEntry(t, "A", "O", "DE", "AS1", "2026-01-01", "a.example")}})
	if err != nil {
		t.Fatal(err)
	}
	file, err := Sign(body, priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, by, err := Open(file, []PublicKey{pub}); err != nil || by.ID() != pub.ID() {
		t.Fatalf("open own: %v", err)
	}
	for _, s := range []string{"", "ed25519:", "ed25519:AAAA", "rsa:" + pub.String()[8:]} {
		if _, err := ParsePublicKey(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePublicKey(%q) = %v", s, err)
		}
	}
}
