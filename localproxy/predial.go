package localproxy

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
)

// predial is the TCP connection to a site, started before the client's ClientHello
// has been read, so that it is being made while the handshake goes on rather than
// after (issue 17 item 5): at the CONNECT when the destination takes cleartext
// anyway, else at the first byte of a TLS handshake (a stream that is refused must
// reach no one). Nothing is sent on it before the ClientHello is known, and a
// connection not used is closed.
type predial struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the dial has ended; conn and err are set then
	conn   net.Conn
	err    error
	taken  atomic.Bool // the connection was handed out (or asked for) once
	handed atomic.Bool // the connection was handed out: discard leaves it alone
}

// errPredialTaken means a second caller asked for a predial's one connection.
var errPredialTaken = errors.New("the early connection was already taken")

// startDial begins dialling addr in the background; the dial is bounded by the
// handshake timeout and ends with ctx, or at discard.
func (p *Proxy) startDial(ctx context.Context, addr string) *predial {
	dctx, cancel := context.WithTimeout(ctx, p.limits.HandshakeTimeout)
	d := &predial{cancel: cancel, done: make(chan struct{})}
	go func() { // ends when the dial does: at its timeout, ctx's end, or discard
		defer close(d.done)
		d.conn, d.err = p.dialSite(dctx, addr)
	}()
	return d
}

// take waits for the connection and hands it to the caller, who then owns it. It
// serves one caller; ctx bounds the wait.
func (d *predial) take(ctx context.Context) (net.Conn, error) {
	if !d.taken.CompareAndSwap(false, true) {
		return nil, errPredialTaken
	}
	select {
	case <-d.done:
	case <-ctx.Done():
		return nil, ctx.Err() // discard closes the connection if it comes
	}
	if d.err != nil {
		return nil, d.err
	}
	d.handed.Store(true)
	return d.conn, nil
}

// discard stops the dial if it is still under way and closes the connection unless
// it was handed out. It waits for the dial to end, which cancelling makes prompt.
func (d *predial) discard() {
	d.cancel()
	<-d.done
	if !d.handed.Load() {
		closeIf(d.conn)
	}
}
