package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/countcases"
)

// TestTerminalCountsAlike (issue 15): "convergence check"'s verdict (printVerdict, and
// VerdictLine in it) states the counts of every verdict of the shared table in the
// words of every surface (verifier.CountWords) and in no others.
func TestTerminalCountsAlike(t *testing.T) {
	for _, c := range countcases.Cases() {
		line := VerdictLine(c.Verdict)
		if err := c.Says(line); err != nil {
			t.Errorf("verdict line: %v", err)
		}
		if want := strings.ToUpper(c.Verdict.Outcome.String()) + ": "; !strings.HasPrefix(line, want) {
			t.Errorf("%s: %q does not start with %q", c.Name, line, want)
		}
		var out bytes.Buffer
		printVerdict(&out, c.Verdict)
		if err := c.Says(out.String()); err != nil {
			t.Errorf("check's output: %v", err)
		}
	}
}
