package localproxy

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/internal/testsupport/countcases"
	"github.com/convergence-ng/convergence/verifier"
)

// caseChecker answers a check of "case-N.test" with the verdict of countcases' case N,
// for the certificate presented. It stands in for the verifier (another package), as
// codeChecker does; the verdicts are the consensus rule's own (countcases).
type caseChecker struct{ cases []countcases.Case }

func (c caseChecker) Verify(_ context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(t.Host, "case-"), ".test"))
	if err != nil || i < 0 || i >= len(c.cases) {
		return verifier.Verdict{}, fmt.Errorf("failed to find case %q", t.Host)
	}
	v := c.cases[i].Verdict
	v.Target, v.FingerprintSHA256 = t, verifier.FingerprintSHA256(chain[0])
	return v, nil
}

// TestBlockPageCountsAlike (issue 15): the block page, as a browser and as curl get it,
// states the counts of every rejected verdict of the shared table in the words of every
// surface (verifier.CountWords) and in no others.
func TestBlockPageCountsAlike(t *testing.T) {
	cases := countcases.Cases()
	r := startProxy(t, func(c *Config) { c.Checker = caseChecker{cases} })
	s := newSite(t, false)
	blocked := 0
	for i, c := range cases {
		if c.Verdict.Allowed() {
			continue // let through: no page
		}
		blocked++
		for _, accept := range []string{"text/html", "text/plain"} {
			req, _ := http.NewRequest("GET", "https://case-"+strconv.Itoa(i)+".test:"+s.port()+"/", nil)
			req.Header.Set("Accept", accept)
			resp, err := r.client(false).Do(req)
			if err != nil {
				t.Fatalf("%s: GET: %v", c.Name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%s: status %d, want the block page:\n%s", c.Name, resp.StatusCode, b)
			}
			if err := c.Says(string(b)); err != nil {
				t.Errorf("block page (%s): %v", accept, err)
			}
			if strings.Contains(string(b), " ()") { // the page's script calls reload() and back(), without the space
				t.Errorf("%s: an empty () on the page:\n%s", c.Name, b)
			}
		}
	}
	if blocked != 4 {
		t.Errorf("%d cases blocked, want 4", blocked)
	}
}
