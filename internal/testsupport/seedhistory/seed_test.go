package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/verifier"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestSeedReadBackByCore: the seeded rows come back through the app's own History path,
// all of them, oldest first, spread over the span before now, with their evidence.
func TestSeedReadBackByCore(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	const n = 200
	if err := seed(ctx, dir, n, now); err != nil {
		t.Fatal(err)
	}
	c, err := core.Open(ctx, core.Options{DataDir: dir, Listen: "127.0.0.1:0", NoCA: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := c.History(ctx, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != n {
		t.Fatalf("History gave %d events, want the %d seeded", len(h), n)
	}
	sites := map[string]bool{}
	verdicts := 0
	rejected := -1
	for i, ev := range h {
		if ev.Time.Before(now.Add(-span)) || !ev.Time.Before(now) || (i > 0 && !ev.Time.After(h[i-1].Time)) {
			t.Fatalf("event %d at %v: want times rising within the %v before %v (after %v)", i, ev.Time, span, now, h[max(i-1, 0)].Time)
		}
		if ev.Kind == verifier.EventVerified || ev.Kind == verifier.EventRejected {
			verdicts++
			sites[ev.Verdict.Target.String()] = true
		}
		if ev.Kind == verifier.EventRejected && rejected < 0 {
			rejected = i
		}
	}
	if len(sites) != verdicts || verdicts < n*9/10 {
		t.Errorf("%d verdicts about %d sites in %d rows: want one site a verdict, most rows verdicts", verdicts, len(sites), n)
	}
	first := h[0].Verdict
	if h[0].Kind != verifier.EventVerified || first.Target.String() != "site-00001.example:443" || !first.Allowed() ||
		first.Source != verifier.SourceNotaries || first.Agreed != 3 || first.Asked != 3 || len(first.Answers) != 3 ||
		first.Answers[0].Kind != verifier.AnswerAgree || len(first.Answers[0].Seen) != 1 ||
		first.Answers[0].Seen[0].FingerprintSHA256 != first.FingerprintSHA256 || first.Reason != "3 of 3 notaries vouched (needed a majority)" {
		t.Errorf("oldest event back: %+v", h[0])
	}
	if rejected < 0 || rejected == len(h)-1 {
		t.Fatalf("rejected verdict at %d of %d rows: want one before the last", rejected, len(h))
	}
	rv := h[rejected].Verdict
	if rv.Target.Host != "site-00100.example" || rv.Allowed() || rv.Agreed != 1 || !rv.Disagreement() ||
		rv.Answers[0].Kind != verifier.AnswerDisagree || rv.Answers[0].Seen[0].FingerprintSHA256 == rv.FingerprintSHA256 {
		t.Errorf("rejected event back: %+v", h[rejected])
	}
	if after := h[rejected+1]; after.Kind != verifier.EventDisagree || after.Verdict.Target != rv.Target {
		t.Errorf("after the rejection: %+v, want its notaries-disagree event", after)
	}
}

// TestRunErrors: a dir that cannot be a data dir, a history already filled, and a
// count out of range are refused with a clear message and exit status 1.
func TestRunErrors(t *testing.T) {
	ctx := testCtx(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	full := t.TempDir()
	if err := seed(ctx, full, 3, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", file}, "data dir"},
		{[]string{"--data-dir", full, "--n", "5"}, "history is not empty"},
		{[]string{"--data-dir", t.TempDir(), "--n", "10001"}, "1 to 10000"},
	} {
		var out, errOut bytes.Buffer
		if code := run(ctx, tc.args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("run(%q) = %d, stderr %q; want 1 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"--data-dir", t.TempDir(), "--n", "7"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "seeded 7 rows") {
		t.Errorf("run with a fresh dir = %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
