package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/convergence-ng/convergence/notary/probe"
)

// defaultHolder names this process in the probe leases: host, pid and a random part
// (a restarted process with the same pid is another holder).
func defaultHolder() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// fleetProbe probes q's target, unless another member of the fleet is probing it: then
// it waits for that member's probe to end, polling the store, and answers from what it
// recorded, as a query joining a probe in this process does; if the lease expires first
// (its holder died), this member takes it over and probes. Without Leases it just probes.
func (n *Notary) fleetProbe(ctx context.Context, q Question) error {
	if n.cfg.Leases == nil {
		// A flight that ended between the asker's read of the store and its join has
		// recorded what it saw: that answers (under load, 24 askers made 2 probes).
		if done, err := n.answered(ctx, q, "process"); err != nil || done {
			return err
		}
		return n.probeAndRecord(ctx, q)
	}
	target := q.target()
	first := true
	var before int64 // probes ended under a lease when this member first asked
	waiting := false
	defer func() {
		if waiting {
			n.metrics.fleetWait.Add(-1)
		}
	}()
	for {
		ok, probes, err := n.cfg.Leases.TryLease(ctx, target, n.cfg.Holder, n.cfg.LeaseFor)
		if err != nil {
			n.metrics.StoreError("lease")
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
		if first {
			first, before = false, probes
		}
		if ok {
			if waiting {
				waiting = false
				n.metrics.fleetWait.Add(-1)
			}
			stop := n.hold(ctx, target)
			if probes > before { // another member's probe ended while this one waited
				stop(false)
				n.metrics.joined("fleet")
				return n.othersProbe(ctx, q)
			}
			// The holder before may have recorded between this member's read and its lease.
			if done, err := n.answered(ctx, q, "fleet"); err != nil || done {
				stop(false)
				return err
			}
			err := n.probeAndRecord(ctx, q)
			stop(probeRan(ctx, err))
			return err
		}
		if !waiting {
			waiting = true
			n.metrics.fleetWait.Add(1)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: waited for another member's probe of %q: %w", ErrBusy, target, ctx.Err())
		case <-time.After(n.cfg.LeasePoll):
		}
		if done, err := n.answered(ctx, q, "fleet"); err != nil || done {
			return err
		}
	}
}

// probeRan reports whether a probe that ended with err is an outcome the members
// waiting for it may answer with: it ran and recorded (err nil) or found the target
// unreachable. Not when it never ran (busy, ended) or was refused by policy (theirs may
// differ), nor when the store failed: then they probe themselves.
func probeRan(ctx context.Context, err error) bool {
	if err == nil {
		return true
	}
	return ctx.Err() == nil && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrStore) && !errors.Is(err, ErrRefused)
}

// answered reports whether the store now holds a fresh observation that answers q, and
// counts a join (by "process" or "fleet") when it does.
func (n *Notary) answered(ctx context.Context, q Question, by string) (bool, error) {
	hist, err := n.history(ctx, q.target())
	if err != nil {
		return false, err
	}
	if n.needsProbe(q, hist, n.now()) {
		return false, nil
	}
	n.metrics.joined(by)
	return true, nil
}

// othersProbe is the outcome of another member's probe that ended: nil when it
// recorded something fresh (the answer follows from the history, agreeing or not), else
// the target was unreachable from that member.
func (n *Notary) othersProbe(ctx context.Context, q Question) error {
	hist, err := n.history(ctx, q.target())
	if err != nil {
		return err
	}
	for _, o := range hist {
		if n.fresh(o, n.now()) {
			return nil
		}
	}
	return fmt.Errorf("%w: another notary of this fleet probed %s and received no certificate", probe.ErrUnreachable, q.target())
}

// hold renews the lease on target every third of LeaseFor until the returned function
// is called, which then gives the lease back, counting a probe when probed (if that
// fails, the lease expires by itself). A renewal that finds the lease lost (the store
// stalled past its expiry and another member took it) changes nothing here: at worst
// two members probe.
func (n *Notary) hold(ctx context.Context, target string) (stop func(probed bool)) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // ends when stop is called
		defer close(done)
		t := time.NewTicker(max(n.cfg.LeaseFor/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if _, _, err := n.cfg.Leases.TryLease(rctx, target, n.cfg.Holder, n.cfg.LeaseFor); err != nil && rctx.Err() == nil {
					n.metrics.StoreError("lease")
				}
			}
		}
	}()
	return func(probed bool) {
		cancel()
		<-done
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := n.cfg.Leases.ReleaseLease(ctx, target, n.cfg.Holder, probed); err != nil {
			n.metrics.StoreError("lease")
		}
	}
}
