package ui

import "testing"

func TestRegionName(t *testing.T) {
	for in, want := range map[string]string{"DE": "Germany (DE)", "SE": "Sweden (SE)", "": "not given", "ZZ": "Unknown Region (ZZ)", "Q!": "Q!"} {
		if got := regionName(in); got != want {
			t.Errorf("regionName(%q) = %q, want %q", in, got, want)
		}
	}
}
