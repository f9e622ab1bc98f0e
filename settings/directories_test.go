package settings

import (
	"errors"
	"testing"

	"github.com/convergence-ng/convergence/notary/directory"
)

func TestDirectorySettings(t *testing.T) {
	pub, _, err := directory.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		urls, keys []string
		ok         bool
	}{
		{"none", nil, nil, true},
		{"https and a key", []string{"https://dir.example/notaries"}, []string{pub.String()}, true},
		{"http (the signature is what is trusted)", []string{"http://dir.example/notaries"}, []string{pub.String()}, true},
		{"ftp", []string{"ftp://dir.example/notaries"}, nil, false},
		{"no host", []string{"https:///notaries"}, nil, false},
		{"not a key", nil, []string{"ssh-ed25519 AAAA"}, false},
		{"short key", nil, []string{"ed25519:AAAA"}, false},
	} {
		s := Defaults()
		s.DirectoryURLs, s.DirectoryKeys = tc.urls, tc.keys
		err := s.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidSettings)) {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
	// Stored and read back whole.
	st, err := Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := Defaults()
	s.DirectoryURLs, s.DirectoryKeys = []string{"https://dir.example/notaries"}, []string{pub.String()}
	if err := st.SaveSettings(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	got, err := st.Settings(t.Context())
	if err != nil || len(got.DirectoryURLs) != 1 || got.DirectoryKeys[0] != pub.String() {
		t.Fatalf("read back %+v %v", got, err)
	}
}
