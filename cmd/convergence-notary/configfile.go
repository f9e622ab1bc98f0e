package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
)

// applyConfigFile sets flags from a file of "name = value" lines (blank lines and lines
// starting with # are skipped; a repeatable flag may appear on several lines). A flag
// given on the command line wins over the file: the file's lines for it are ignored.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return usage("check the --config path", "failed to open config file: %v", err)
	}
	defer f.Close()
	onCommandLine := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
		if !ok {
			return usage(`write "name = value", e.g. "listen = :443"`, "%s:%d: no '='", path, n)
		}
		if name == "config" || fs.Lookup(name) == nil {
			return usage(`the names are the serve flags without "--"`, "%s:%d: unknown setting %q", path, n, name)
		}
		if onCommandLine[name] {
			continue
		}
		if err := fs.Set(name, value); err != nil {
			return usage(fmt.Sprintf("fix the value of %q", name), "%s:%d: %v", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("failed to read config file %q: %w", path, err)
	}
	return nil
}
