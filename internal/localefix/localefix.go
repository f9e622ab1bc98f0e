// Package localefix keeps Fyne from logging a locale error at start under the C
// locale with a character set (LANG=C.UTF-8, the default of Debian's containers and
// many servers). main imports it for its init alone.
//
// Fyne reads the locale in its package init (fyne.io/fyne/v2/lang, through
// github.com/jeandeaual/go-locale), takes "C" of "C.UTF-8" for a language tag, and
// logs "Fyne error: Error parsing user locale C" on every start, terminal commands
// included. go-locale treats a bare C or POSIX as no locale, but not C.UTF-8; it reads
// LANGUAGE first when the locale is not bare C. So when the locale in effect is C or
// POSIX with a character set and LANGUAGE is empty, this sets LANGUAGE=en for the
// process: the language such a locale means. Programs the app starts see it too, and
// ignore it: gettext does not read LANGUAGE under the C locale.
//
// It runs before Fyne's init: Go initialises packages in the order of their import
// paths once their imports are done, and this one (github.com/convergence-ng/...,
// importing only os and strings) sorts before github.com/jeandeaual/go-locale, which
// fyne.io/fyne/v2/lang needs first.
package localefix

import (
	"os"
	"strings"
)

func init() { apply(os.Getenv, os.Setenv) }

// apply sets LANGUAGE=en when the locale in effect (LC_ALL, else LC_MESSAGES, else
// LANG) is C or POSIX with a character set or modifier and LANGUAGE is not set.
func apply(getenv func(string) string, setenv func(string, string) error) {
	if getenv("LANGUAGE") != "" {
		return
	}
	var loc string
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = getenv(k); loc != "" {
			break
		}
	}
	base, _, _ := strings.Cut(loc, ".")
	base, _, _ = strings.Cut(base, "@")
	if (base == "C" || base == "POSIX") && base != loc {
		setenv("LANGUAGE", "en")
	}
}
