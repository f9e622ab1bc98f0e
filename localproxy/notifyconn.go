package localproxy

import (
	"net"
	"sync"
)

// notifyConn is a site connection (under its TLS) that runs a function once, when
// it is closed: how a pool learns that the Transport dropped one of its connections.
type notifyConn struct {
	net.Conn

	mu      sync.Mutex // protects closed and onClose
	closed  bool
	onClose func()
}

func (c *notifyConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	first, f := !c.closed, c.onClose
	c.closed = true
	c.mu.Unlock()
	if first && f != nil {
		f() // takes the pool's locks only: retire closes its connections without holding them
	}
	return err
}

// notify sets f to run when c is closed, or runs it now if c is closed already.
func (c *notifyConn) notify(f func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		f()
		return
	}
	c.onClose = f
	c.mu.Unlock()
}
