package demo

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/verifier"
)

// TestDemoInProcess runs the demo's world and the app on its data dir: the honest site
// comes out trusted by the notaries with its page, the attacked one rejected with the
// block page and never the impostor's page; Close removes the dir. (e2e's
// TestDemoHeadless runs the same through the binary.)
func TestDemoInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Demo.Dir
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- s.Serve(serveCtx) }() // ends with stop
	vs, err := s.Visit(ctx)
	stop()
	if serr := <-served; serr != nil {
		t.Errorf("Serve: %v", serr)
	}
	if cerr := s.Close(); cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("%d visits, want 2", len(vs))
	}
	honest, attacked := vs[0], vs[1]
	if !honest.OK() || honest.Verdict.Source != verifier.SourceNotaries || honest.Page == "" {
		t.Errorf("honest site: %+v; want trusted by the notaries with its page", honest)
	}
	if !attacked.OK() || attacked.Verdict.Source != verifier.SourceNotaries || attacked.Status != 403 {
		t.Errorf("attacked site: %+v; want rejected by the notaries with the block page", attacked)
	}
	if disagreeing(attacked.Verdict) == 0 {
		t.Errorf("no notary disagreed about the attacked site: %+v", attacked.Verdict.Answers)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo's dir %s is still there after Close (%v)", dir, err)
	}
}

// TestDialSitesReachesNothingElse: the demo's proxy dials its two sites only.
func TestDialSitesReachesNothingElse(t *testing.T) {
	d := &Demo{Honest: HonestName + ":1", Attacked: AttackedName + ":2"}
	if _, err := d.DialSites(context.Background(), "tcp", "example.com:443"); err == nil {
		t.Error("DialSites reached example.com")
	}
}
