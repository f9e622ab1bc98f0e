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
			defer n.release(ctx, target)
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

// release gives the lease back; if that fails, the lease expires by itself.
func (n *Notary) release(ctx context.Context, target string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.cfg.Leases.ReleaseLease(rctx, target, n.cfg.Holder); err != nil {
		n.metrics.StoreError("lease")
	}
}
