package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// rule is one row of the package table in docs/ARCHITECTURE.md: the packages it covers
// and what the code that ships in them (not their tests) may import. Paths are
// relative to the module ("" is the root); "x/..." is x and every package under it.
type rule struct {
	pkgs []string
	may  []string // module packages it may import
	// Words of the "may import" column: everything (any package), fyne (may depend on
	// Fyne), stdlib only (depends on the standard library alone), none (nothing of the
	// module; other modules are allowed).
	everything, fyne, stdlib, none bool
}

// table is the doc's table; TestDocumentMatchesTable keeps them equal. A new package
// gets a row (or fits a "x/..." row) in both.
var table = []rule{
	{pkgs: []string{""}, everything: true},
	{pkgs: []string{"ui"}, fyne: true, may: []string{"assets", "internal/core", "localproxy", "notary/directory", "notary/protocol", "settings", "truststore", "verifier"}},
	{pkgs: []string{"assets"}, fyne: true},
	{pkgs: []string{"internal/core"}, may: []string{"localproxy", "notary/directory", "notary/protocol", "settings", "sysproxy", "truststore", "verifier"}},
	{pkgs: []string{"internal/cli"}, may: []string{"internal/core", "localproxy", "notary/directory", "notary/protocol", "settings", "truststore", "verifier"}},
	{pkgs: []string{"internal/demo"}, may: []string{"internal/cli", "internal/core", "localproxy", "notary/...", "settings", "verifier"}},
	{pkgs: []string{"internal/instance", "internal/localefix"}, none: true},
	{pkgs: []string{"settings"}, may: []string{"notary/directory", "notary/protocol"}},
	{pkgs: []string{"verifier"}, may: []string{"notary/directory", "notary/protocol", "settings"}},
	{pkgs: []string{"localproxy"}, may: []string{"notary/protocol", "settings", "verifier"}},
	{pkgs: []string{"truststore"}, stdlib: true},
	{pkgs: []string{"sysproxy"}, stdlib: true},
	{pkgs: []string{"notary/protocol"}, stdlib: true},
	{pkgs: []string{"notary/directory"}, may: []string{"notary/protocol"}},
	{pkgs: []string{"notary/..."}, may: []string{"notary/..."}},
	{pkgs: []string{"cmd/convergence-notary"}, may: []string{"notary/..."}},
	{pkgs: []string{"internal/testsupport/seedhistory"}, may: []string{"internal/core", "settings", "verifier"}},
	{pkgs: []string{"internal/testsupport/testnotary"}, may: []string{"notary/..."}},
	{pkgs: []string{"internal/testsupport/loadrig"}, may: []string{"localproxy", "notary/...", "settings", "verifier"}},
	{pkgs: []string{"internal/testsupport/countcases"}, may: []string{"settings", "verifier"}},
	{pkgs: []string{"internal/testsupport/testpg"}, none: true},
	{pkgs: []string{"internal/testsupport/testtarget"}, may: []string{"internal/testsupport/testcerts"}},
	{pkgs: []string{"internal/testsupport/testcerts", "internal/testsupport/xvfb", "internal/testsupport/dbusmenu", "internal/testsupport/sessionbus", "internal/testsupport/unwritable"}, none: true},
	{pkgs: []string{"internal/loadtest", "internal/archtest", "ui/traytest", "e2e"}, none: true},
	{pkgs: []string{"e2e/internal/labpeer"}, may: []string{"notary/protocol"}},
}

// goPackage is what `go list -deps -json` says of a package.
type goPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
}

// listModule returns the module's packages and the set of standard packages they use.
func listModule(t *testing.T) (pkgs []goPackage, std map[string]bool) {
	t.Helper()
	out := goCmd(t, nil, "list", "-deps", "-json=ImportPath,Standard,Imports,Deps,Module", "./...")
	std = map[string]bool{"unsafe": true}
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("failed to decode go list output: %v", err)
		}
		switch {
		case p.Standard:
			std[p.ImportPath] = true
		case p.Module != nil && p.Module.Path == module:
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list returned %d packages of the module; expected all of them", len(pkgs))
	}
	return pkgs, std
}

// rel is path relative to the module; "" for the root.
func rel(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

// matches reports how specifically pattern covers pkg: 0 not at all, longer is closer;
// an exact path beats any tree.
func matches(pattern, pkg string) int {
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		if pkg == tree || strings.HasPrefix(pkg, tree+"/") {
			return 1 + len(tree)
		}
		return 0
	}
	if pkg == pattern {
		return 1 << 20
	}
	return 0
}

// ruleFor is the table's most specific row for pkg (module-relative), nil when none.
func ruleFor(pkg string) *rule {
	var best *rule
	bestScore := 0
	for i := range table {
		for _, p := range table[i].pkgs {
			if s := matches(p, pkg); s > bestScore {
				best, bestScore = &table[i], s
			}
		}
	}
	return best
}

func (r *rule) allows(pkg string) bool {
	for _, p := range r.may {
		if matches(p, pkg) > 0 {
			return true
		}
	}
	return false
}

// testSupport reports whether pkg (module-relative) is test support, which only tests
// (and other test support) may import.
func testSupport(pkg string) bool { return matches("internal/testsupport/...", pkg) > 0 }

// TestImportsFollowTable: every package of the module has a row, and imports (direct
// imports of its non-test files) only what its row allows and no test support; Fyne
// and "stdlib only" are checked over every dependency (go list -deps).
func TestImportsFollowTable(t *testing.T) {
	pkgs, std := listModule(t)
	for _, p := range pkgs {
		name := rel(p.ImportPath)
		r := ruleFor(name)
		if r == nil {
			t.Errorf("package %q has no row: add it to the table in internal/archtest/imports_test.go and in docs/ARCHITECTURE.md", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if testSupport(rel(imp)) && !testSupport(name) {
				t.Errorf("%s imports %s: internal/testsupport/... is for tests alone; import it from _test.go files", p.ImportPath, imp)
			}
		}
		if r.everything {
			continue
		}
		for _, imp := range p.Imports {
			switch {
			case std[imp] && imp != "C":
			case strings.HasPrefix(imp, module+"/") || imp == module:
				if !r.allows(rel(imp)) {
					t.Errorf("%s imports %s: its row in docs/ARCHITECTURE.md allows %q; report through a callback or an interface the importer owns, or change the architecture in both tables", p.ImportPath, imp, r.may)
				}
			case r.stdlib:
				t.Errorf("%s imports %s: its row allows the standard library only", p.ImportPath, imp)
			}
		}
		for _, d := range p.Deps {
			fyne := strings.HasPrefix(d, "fyne.io") // fyne.io/fyne/v2, fyne.io/systray, ...
			if fyne && !r.fyne {
				t.Errorf("%s depends on %s: only ui/, assets/ and main may use Fyne; report through callbacks or channels instead", p.ImportPath, d)
				break
			}
			if r.stdlib && !std[d] {
				t.Errorf("%s depends on %s: its row allows the standard library only", p.ImportPath, d)
				break
			}
		}
	}
}

// TestDocumentMatchesTable reads the table in docs/ARCHITECTURE.md and compares each
// row's packages and "may import" column with the table above.
func TestDocumentMatchesTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	got := parseDocTable(t, string(doc))
	want := make([]string, len(table))
	for i, r := range table {
		want[i] = r.String()
	}
	slices.Sort(got)
	slices.Sort(want)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("docs/ARCHITECTURE.md lacks the row %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("docs/ARCHITECTURE.md has the row %s, which the table in imports_test.go lacks", g)
		}
	}
}

// String is a row in a canonical form: its packages, then what they may import.
func (r rule) String() string {
	pkgs := slices.Sorted(slices.Values(r.pkgs))
	var may []string
	for _, w := range []struct {
		set  bool
		word string
	}{{r.everything, "everything"}, {r.fyne, "fyne"}, {r.stdlib, "stdlib only"}, {r.none, "none"}} {
		if w.set {
			may = append(may, w.word)
		}
	}
	may = append(may, slices.Sorted(slices.Values(r.may))...)
	return "[" + strings.Join(pkgs, " ") + "] may import [" + strings.Join(may, ", ") + "]"
}

var (
	backticked = regexp.MustCompile("`([^`]*)`")
	aside      = regexp.MustCompile(`\([^)]*\)`)
)

// parseDocTable reads the rows of the first table whose header has "may import": the
// packages are the backticked words of the first cell ("main" is the root, a trailing
// slash is dropped); the last cell lists backticked packages and the table's words.
func parseDocTable(t *testing.T, doc string) []string {
	t.Helper()
	var rows []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		switch {
		case !strings.HasPrefix(line, "|"):
			if in {
				return rows
			}
			continue
		case strings.Contains(line, "may import"):
			in = true
			continue
		case !in || strings.HasPrefix(strings.TrimSpace(cells[0]), "---"):
			continue
		}
		var r rule
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			p := strings.TrimSuffix(m[1], "/")
			if p == "main" {
				p = ""
			}
			r.pkgs = append(r.pkgs, p)
		}
		for _, word := range strings.Split(aside.ReplaceAllString(cells[len(cells)-1], ""), ",") {
			word = strings.TrimSpace(word)
			switch {
			case strings.HasPrefix(word, "`"):
				r.may = append(r.may, strings.TrimSuffix(strings.Trim(word, "`"), "/"))
			case word == "everything":
				r.everything = true
			case word == "fyne":
				r.fyne = true
			case word == "stdlib only":
				r.stdlib = true
			case word == "none":
				r.none = true
			default:
				t.Errorf("docs/ARCHITECTURE.md: %q in the \"may import\" column of %q is neither a `package` nor one of everything, fyne, stdlib only, none", word, line)
			}
		}
		rows = append(rows, r.String())
	}
	if len(rows) == 0 {
		t.Fatal("docs/ARCHITECTURE.md has no table with a \"may import\" column")
	}
	return rows
}
