package demo

import (
	"fmt"
	"io"

	"github.com/convergence-ng/convergence/internal/cli"
	"github.com/convergence-ng/convergence/verifier"
)

// Report writes what the demo showed, one paragraph per site, in the terminal's words
// (internal/cli's tui.go), and returns the exit status: cli.ExitOK when both sites
// came out as the demo means them to, cli.ExitFailure otherwise.
func Report(w io.Writer, vs []Visit) int {
	ok := len(vs) == 2
	for _, v := range vs {
		fmt.Fprintf(w, "%s\n  verdict: %s\n", v.Site, cli.VerdictLine(v.Verdict))
		switch {
		case v.Blocked:
			fmt.Fprintf(w, "  blocked: the browser got the proxy's block page (HTTP %d); the site got nothing\n", v.Status)
		default:
			fmt.Fprintf(w, "  loaded: HTTP %d, %q\n", v.Status, v.Page)
		}
		if d := disagreeing(v.Verdict); d > 0 {
			fmt.Fprintf(w, "  alert: %d of %d notaries see another certificate for %s than the app was shown: someone on the app's network is impersonating the site\n",
				d, v.Verdict.Asked, v.Verdict.Target.Host)
		}
		ok = ok && v.OK()
	}
	if !ok {
		fmt.Fprintln(w, "demo: FAILED: the sites did not come out as they should (the honest one trusted, the attacked one blocked)")
		return cli.ExitFailure
	}
	fmt.Fprintln(w, "demo: the honest site was trusted and the attacked one blocked, as the notaries saw them")
	return cli.ExitOK
}

// disagreeing counts the notaries that saw another certificate.
func disagreeing(v verifier.Verdict) int {
	n := 0
	for _, a := range v.Answers {
		if a.Kind == verifier.AnswerDisagree {
			n++
		}
	}
	return n
}
