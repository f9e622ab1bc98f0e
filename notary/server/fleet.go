package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
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
// it waits for that member's record, polling the store, and takes the lease over if it
// expires (its holder died) before a record came. Without Leases it just probes.
func (n *Notary) fleetProbe(ctx context.Context, q Question) error {
	if n.cfg.Leases == nil {
		return n.probeAndRecord(ctx, q)
	}
	target := q.target()
	// A record made from this second on is a probe that ended after this member found
	// the history wanting (seconds: the store's resolution).
	since := n.now().Truncate(time.Second)
	for {
		ok, err := n.cfg.Leases.TryLease(ctx, target, n.cfg.Holder, n.cfg.LeaseFor)
		if err != nil {
			n.metrics.StoreError("lease")
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
		if ok {
			stop := n.hold(ctx, target)
			defer stop()
			// The holder before may have recorded between this member's read and its lease.
			if done, err := n.answered(ctx, q, since); err != nil || done {
				return err
			}
			return n.probeAndRecord(ctx, q)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: waited for another member's probe of %q: %w", ErrBusy, target, ctx.Err())
		case <-time.After(n.cfg.LeasePoll):
		}
		if done, err := n.answered(ctx, q, since); err != nil || done {
			return err
		}
	}
}

// answered reports whether the store now answers q without a probe of this member's: a
// fresh observation that q accepts, or any recorded since (another member's probe
// ended, whatever it saw, as a joined probe in this process would).
func (n *Notary) answered(ctx context.Context, q Question, since time.Time) (bool, error) {
	hist, err := n.history(ctx, q.target())
	if err != nil {
		return false, err
	}
	done := !n.needsProbe(q, hist, n.now())
	for _, o := range hist {
		done = done || !o.LastSeen.Before(since)
	}
	if done {
		n.metrics.joined("fleet")
	}
	return done, nil
}

// hold renews the lease on target every third of LeaseFor until the returned function
// is called, which then gives the lease back (if that fails, the lease expires by
// itself). A renewal that finds the lease lost (the store stalled past its expiry and
// another member took it) changes nothing here: at worst two members probe.
func (n *Notary) hold(ctx context.Context, target string) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // ends when stop is called
		defer close(done)
		t := time.NewTicker(n.cfg.LeaseFor / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if _, err := n.cfg.Leases.TryLease(rctx, target, n.cfg.Holder, n.cfg.LeaseFor); err != nil && rctx.Err() == nil {
					n.metrics.StoreError("lease")
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := n.cfg.Leases.ReleaseLease(ctx, target, n.cfg.Holder); err != nil {
			n.metrics.StoreError("lease")
		}
	}
}
