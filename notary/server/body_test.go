package server

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBodyLimits(t *testing.T) {
	const limit = 10
	for _, tc := range []struct {
		body    string
		want    string
		wantErr error
	}{
		{"", "", nil},
		{"fingerprint", "", errBodyTooLarge},
		{strings.Repeat("a", limit), strings.Repeat("a", limit), nil},
		{strings.Repeat("a", limit+1), "", errBodyTooLarge},
		{strings.Repeat("a", 5000), "", errBodyTooLarge},
	} {
		buf := new(bodyBuf)
		got, err := readBody(httptest.NewRequest("POST", "/", strings.NewReader(tc.body)), buf, limit)
		if string(got) != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("%d bytes: got %q, %v; want %q, %v", len(tc.body), got, err, tc.want, tc.wantErr)
		}
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Body = io.NopCloser(iotest.ErrReader(io.ErrClosedPipe))
	if _, err := readBody(r, new(bodyBuf), limit); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("failing body: %v, want %v", err, io.ErrClosedPipe)
	}
}
