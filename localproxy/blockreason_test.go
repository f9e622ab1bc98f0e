package localproxy

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// codeChecker rejects every site with the reason code its name starts with
// ("notaries-unreachable.test" and so on), with the answers such a verdict has.
// It stands in for the verifier (another package), as testChecker does; the verifier's
// own codes are tested in verifier, the whole path in e2e/outage_test.go.
type codeChecker struct{}

func (codeChecker) Verify(_ context.Context, t verifier.Target, chain []*x509.Certificate) (verifier.Verdict, error) {
	code := verifier.ReasonCode(strings.TrimSuffix(t.Host, ".test"))
	kind := map[verifier.ReasonCode]verifier.AnswerKind{
		verifier.ReasonUnreachable: verifier.AnswerUnreachable, verifier.ReasonDisagree: verifier.AnswerDisagree,
		verifier.ReasonImpersonated: verifier.AnswerUnauthentic, verifier.ReasonBelowThreshold: verifier.AnswerNoOpinion,
	}[code]
	v := verifier.Verdict{Target: t, FingerprintSHA256: verifier.FingerprintSHA256(chain[0]), Outcome: verifier.OutcomeRejected,
		Source: verifier.SourceNotaries, Code: code, Asked: 3, Time: time.Now(),
		Reason: "undecided: raw detail dial tcp 192.0.2.1:443: connect: connection refused"}
	for _, n := range []string{"N1", "N2", "N3"} {
		if code == verifier.ReasonRefusedTunnel {
			break // refused before any notary was asked
		}
		v.Answers = append(v.Answers, verifier.NotaryAnswer{Notary: n, Kind: kind, Err: "dial tcp: connect: connection refused"})
	}
	return v, nil
}

var tokenRE = regexp.MustCompile(`action="https://check\.convergence\.invalid/(allow|portal)">\s*<input type="hidden" name="token" value="([0-9a-f]+)">`)

// blockFor fetches the block page of the site named by code, as a browser would.
func blockFor(t *testing.T, r *running, code verifier.ReasonCode, port string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://"+string(code)+".test:"+port+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := r.client(false).Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestBlockPageSaysTheReason: every reason code gets its header and its words; only a
// disagreement or an impostor speaks of interception; the raw error is behind Details;
// the ways out fit the reason, the safe one the default.
func TestBlockPageSaysTheReason(t *testing.T) {
	r := startProxy(t, func(c *Config) {
		c.Checker = codeChecker{}
		c.Pages.Allow = func(string, int, time.Duration, string) error { return nil }
	})
	s := newSite(t, false)
	for _, tc := range []struct {
		code     verifier.ReasonCode
		words    string
		attack   bool
		allowOut bool
	}{
		{verifier.ReasonUnreachable, "can&#39;t reach your notaries", false, true},
		{verifier.ReasonDisagree, "Someone may be intercepting", true, false},
		{verifier.ReasonImpersonated, "a notary is being impersonated", true, false},
		{verifier.ReasonBelowThreshold, "Too few notaries vouched", false, true},
		{verifier.ReasonRefusedTunnel, "Convergence refused this connection", false, false},
	} {
		t.Run(string(tc.code), func(t *testing.T) {
			resp, body := blockFor(t, r, tc.code, s.port())
			if got := resp.Header.Get(HeaderReason); got != string(tc.code) {
				t.Errorf("%s = %q, want %q", HeaderReason, got, tc.code)
			}
			if !strings.Contains(body, tc.words) {
				t.Errorf("the page lacks %q:\n%s", tc.words, body)
			}
			if strings.Contains(strings.ToLower(body), "intercept") != tc.attack {
				t.Errorf("the page speaks of interception: %v, want %v", !tc.attack, tc.attack)
			}
			head, details, ok := strings.Cut(body, `<details id="details">`)
			if !ok || strings.Contains(head, "connection refused") || !strings.Contains(details, "connection refused") {
				t.Errorf("the raw error is not behind Details alone")
			}
			safe := `class="safe" id="retry" autofocus`
			if tc.attack {
				safe = `class="safe" id="go-back" autofocus`
			}
			if !strings.Contains(body, safe) {
				t.Errorf("the default button is not %q", safe)
			}
			if got := tokenRE.FindStringSubmatch(body) != nil; got != tc.allowOut {
				t.Errorf("allow this site offered: %v, want %v", got, tc.allowOut)
			}
		})
	}
}

// TestAllowThisSiteForTenMinutes: the block page's button works once, with its token,
// for the site it was served for, for 10 minutes; a made-up token does nothing.
func TestAllowThisSiteForTenMinutes(t *testing.T) {
	var mu sync.Mutex
	var got []string
	r := startProxy(t, func(c *Config) {
		c.Checker = codeChecker{}
		c.Pages.Allow = func(host string, port int, d time.Duration, why string) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, verifier.Target{Host: host, Port: port}.String()+" "+d.String())
			return nil
		}
	})
	s := newSite(t, false)
	_, body := blockFor(t, r, verifier.ReasonUnreachable, s.port())
	m := tokenRE.FindStringSubmatch(body)
	if m == nil || m[1] != "allow" {
		t.Fatalf("no allow button:\n%s", body)
	}
	c := r.client(false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	post := func(tok string) *http.Response {
		resp, err := c.PostForm(CheckURL+"allow", url.Values{"token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(strings.Repeat("0", 32)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a made-up token: %d", resp.StatusCode)
	}
	resp := post(m[2])
	want := "https://notaries-unreachable.test:" + s.port() + "/"
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("allow: %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if resp := post(m[2]); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the token worked twice: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "notaries-unreachable.test:"+s.port()+" 10m0s" {
		t.Errorf("Allow calls %v", got)
	}
}

// TestBlockPageOffersTheSignInPage: with a captive portal in front of the network, an
// outage's block page says so and offers its sign-in page, which lets that host alone
// through for 10 minutes and goes there.
func TestBlockPageOffersTheSignInPage(t *testing.T) {
	var mu sync.Mutex
	var got []string
	r := startProxy(t, func(c *Config) {
		c.Checker = codeChecker{}
		c.Pages.Allow = func(host string, port int, d time.Duration, why string) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, verifier.Target{Host: host, Port: port}.String()+" "+d.String()+" "+why)
			return nil
		}
		c.Pages.Portal = func(context.Context) (Portal, bool) {
			return Portal{SignInURL: "https://wifi.portal.test/login?x=1", Host: "wifi.portal.test"}, true
		}
	})
	s := newSite(t, false)
	resp, body := blockFor(t, r, verifier.ReasonUnreachable, s.port())
	if resp.Header.Get(HeaderReason) != string(verifier.ReasonUnreachable) || !strings.Contains(body, "wants you to sign in") ||
		!strings.Contains(body, "Open the sign-in page") || !strings.Contains(body, "unchecked") {
		t.Fatalf("the block page does not offer the sign-in page:\n%s", body)
	}
	var portalTok string
	for _, m := range tokenRE.FindAllStringSubmatch(body, -1) {
		if m[1] == "portal" {
			portalTok = m[2]
		}
	}
	c := r.client(false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	presp, err := c.PostForm(CheckURL+"portal", url.Values{"token": {portalTok}})
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusSeeOther || presp.Header.Get("Location") != "https://wifi.portal.test/login?x=1" {
		t.Errorf("portal: %d to %q", presp.StatusCode, presp.Header.Get("Location"))
	}
	_, body = blockFor(t, r, verifier.ReasonDisagree, s.port())
	if strings.Contains(body, "sign-in page") {
		t.Error("an attack's block page offers a sign-in page")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "wifi.portal.test:0 10m0s captive portal") {
		t.Errorf("Allow calls %v", got)
	}
}
