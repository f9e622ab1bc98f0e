package core

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// Verify without reading (issue 17 item 4): for a host:port the user chose, the
// proxy checks the site's certificate with a handshake of its own, has the notaries
// judge it as any other, then relays the app's TLS untouched (localproxy's
// passthrough.go). The decisions live in the store (settings.PassthroughSite); the
// proxy asks, per CONNECT, the copy held here in memory, which follows the store.

// PassthroughCost says what verify without reading costs, in the words of every
// surface (the decisions list, the terminal, the README).
const PassthroughCost = "With TLS 1.3 Convergence checks the certificate it sees itself, not the one your app receives; " +
	"an attacker who can tell the two connections apart could show them different certificates."

// passthroughSet is the decisions in memory, by canonical host:port. Safe for
// concurrent use.
type passthroughSet struct {
	m atomic.Pointer[map[string]bool]
}

func (s *passthroughSet) has(host string, port int) bool {
	m := s.m.Load()
	return m != nil && (*m)[net.JoinHostPort(host, strconv.Itoa(port))]
}

// loadPassthrough reads the decisions from the store into memory.
func (c *Core) loadPassthrough(ctx context.Context) error {
	ps, err := c.Store.PassthroughSites(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]bool, len(ps))
	for _, p := range ps {
		m[net.JoinHostPort(p.Host, strconv.Itoa(p.Port))] = true
	}
	c.passthrough.m.Store(&m)
	return nil
}

// VerifyWithoutReading makes the decision to verify host:port without reading: from
// its next connection, the proxy no longer intercepts it. why is kept with it.
func (c *Core) VerifyWithoutReading(ctx context.Context, host string, port int, why string) error {
	if why == "" {
		why = "you chose it"
	}
	if err := c.Store.AddPassthrough(ctx, host, port, why); err != nil {
		return err
	}
	if err := c.loadPassthrough(ctx); err != nil {
		return fmt.Errorf("failed to apply verify without reading for %q: %w", host, err)
	}
	c.log.Warn("verify without reading: the app's connections are relayed untouched once the site's certificate is trusted",
		"host", host, "port", port, "why", why)
	c.statusChanged()
	return nil
}

// passthroughFromPage is the block page's hook (localproxy.Pages.Passthrough).
func (c *Core) passthroughFromPage(host string, port int, why string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.VerifyWithoutReading(ctx, host, port, why)
}

// passthroughDecisions lists the decisions for the decisions list. A pure function.
func passthroughDecisions(ps []settings.PassthroughSite) []Decision {
	var out []Decision
	for _, p := range ps {
		hp := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
		why := p.Note
		if why == "" {
			why = "you chose it"
		}
		out = append(out, Decision{
			ID: decisionID("pass", hp), Kind: DecisionPassthrough,
			What: fmt.Sprintf("Verify %s without reading the connection (the notaries check the certificate Convergence sees; your app's connection is passed through untouched). %s", hp, PassthroughCost),
			Why:  why, Made: p.Created, entry: hp,
		})
	}
	return out
}

// endPassthrough removes the decision for hostPort; the proxy's sweep closes the
// connections relayed under it within a second.
func (c *Core) endPassthrough(ctx context.Context, hostPort string) error {
	host, portStr, err := net.SplitHostPort(hostPort)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	if err := c.Store.RemovePassthrough(ctx, host, port); err != nil {
		return err
	}
	if err := c.loadPassthrough(ctx); err != nil {
		return err
	}
	c.statusChanged()
	return nil
}
