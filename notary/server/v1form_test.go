package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// v1Fingerprint reads every body as ParseForm and PostForm.Get("fingerprint") do,
// whether it takes its fast path (the original's body alone) or not.
func TestV1FingerprintAsParseForm(t *testing.T) {
	fp := "D4:3A:94:E4:82:E5:C1:00:83:C5:0F:7E:27:8A:0F:6A:E1:A7:90:3F"
	bodies := []string{"fingerprint=" + fp, "fingerprint=" + strings.ReplaceAll(fp, ":", "%3A"), "", "fingerprint=", "fingerprint=a+b",
		"fingerprint=%zz", "fingerprint=%4", "fingerprint=%", "fingerprint=ab%3a%", "fingerprint=+%2B%41%3a%3A", "fingerprint=%g1", "fingerprint=" + fp + "&fingerprint=other", "other=1&fingerprint=" + fp, "fingerprint=a;b", "fingerprint=a=b",
		"x", strings.Repeat("a", 200), "fingerprint=" + strings.Repeat("A", 1020), "fingerprint=" + strings.Repeat("A", 2000)}
	for _, body := range bodies {
		for _, ctype := range []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "text/plain", ""} {
			for _, query := range []string{"", "?a=%zz", "?fingerprint=q"} {
				mk := func() (*http.Request, *httptest.ResponseRecorder) {
					r := httptest.NewRequest(http.MethodPost, "/target/a+443"+query, strings.NewReader(body))
					if ctype != "" {
						r.Header.Set("Content-Type", ctype)
					}
					return r, httptest.NewRecorder()
				}
				r, w := mk()
				got, ok := v1Fingerprint(w, r)
				r, w = mk()
				r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
				werr := r.ParseForm()
				want := ""
				if werr == nil {
					want = r.PostForm.Get("fingerprint")
				}
				if ok != (werr == nil) || got != want {
					t.Errorf("body %.40q type %q query %q: got %q %v, ParseForm %q %v", body, ctype, query, got, ok, want, werr)
				}
			}
		}
	}
}
