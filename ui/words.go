package ui

import (
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// Plain words for what a bundle says in codes.

// regionName names a notary's region, an ISO 3166 code, as a country: "Germany (DE)";
// a code with no name is shown as it is, and none as "not given".
func regionName(code string) string {
	if code == "" {
		return "not given"
	}
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	name := display.English.Regions().Name(r)
	if name == "" {
		return code
	}
	return name + " (" + code + ")"
}

// speaksWords says what a bundle's notary can do, in what it means for the user.
func speaksWords(b protocol.Bundle) string {
	if b.SupportsV2() {
		return "signed, dated answers (the current protocol), and the original one"
	}
	return "the original Convergence protocol only: its answers are not dated"
}
