package core

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/convergence-ng/convergence/truststore"
)

// TestTrustState: a store is done only when truststore says done with no error; a
// dismissed password prompt is its own state; everything else is a failure, with its
// reason as the note.
func TestTrustState(t *testing.T) {
	cancelled := fmt.Errorf("failed to add x: %w: nothing was changed", truststore.ErrCancelled)
	refused := fmt.Errorf("failed to add x: %w (no polkit agent): nothing was changed", truststore.ErrNotAuthorized)
	for _, tc := range []struct {
		name string
		in   truststore.Result
		want TrustState
		note string
	}{
		{"done", truststore.Result{Done: true, Checked: "certutil -L shows it", Restart: "Firefox", Kind: truststore.NSS}, TrustDone,
			"verified: certutil -L shows it; restart Firefox if it is open"},
		{"done, system", truststore.Result{Done: true, Checked: "the bundle holds it", Kind: truststore.System}, TrustDone, "verified: the bundle holds it"},
		{"done with an error is not done", truststore.Result{Done: true, Checked: "x", Err: errors.New("odd")}, TrustFailed, "odd"},
		{"cancelled", truststore.Result{Err: cancelled, Command: "sudo x"}, TrustCancelled, "the administrator password prompt was cancelled, so nothing was changed in this store"},
		{"refused", truststore.Result{Err: refused, Command: "sudo x"}, TrustFailed, refused.Error()},
		{"failed", truststore.Result{Err: errors.New("SEC_ERROR_READ_ONLY"), Restart: "Firefox"}, TrustFailed, "SEC_ERROR_READ_ONLY"},
		{"nothing said", truststore.Result{}, TrustFailed, "not verified"},
	} {
		r := trustResults([]truststore.Result{tc.in})[0]
		if r.State != tc.want || r.Note() != tc.note || r.Done() != (tc.want == TrustDone) {
			t.Errorf("%s: state %v, note %q; want %v, %q", tc.name, r.State, r.Note(), tc.want, tc.note)
		}
		if !r.Done() && (r.Checked != "" || strings.HasPrefix(r.Note(), "verified")) {
			t.Errorf("%s: not done but says verified: %+v", tc.name, r)
		}
		if r.System != (tc.in.Kind == truststore.System) {
			t.Errorf("%s: system %v", tc.name, r.System)
		}
	}
}
