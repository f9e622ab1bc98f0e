package verifier

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveBundleSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "notary.example.org")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"notary.example.org", "https://notary.example.org/.well-known/convergence.notary"},
		{"  Notary.Example.org:8443 ", "https://Notary.Example.org:8443/.well-known/convergence.notary"},
		{"https://notary.example.org", "https://notary.example.org/.well-known/convergence.notary"},
		{"https://notary.example.org/", "https://notary.example.org/.well-known/convergence.notary"},
		{"https://notary.example.org/my.notary", "https://notary.example.org/my.notary"},
		{"http://notary.example.org", "http://notary.example.org"}, // refused by ReadBundle, with its reason
		{file, file}, // a file that exists stays a file
		{"missing.notary", "missing.notary"},
		{"localhost", "localhost"},
		{"", ""},
	} {
		if got := ResolveBundleSource(tc.in); got != tc.want {
			t.Errorf("ResolveBundleSource(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
