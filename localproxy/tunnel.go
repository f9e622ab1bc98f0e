package localproxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// tunnel copies bytes both ways between client and upstream until both directions have
// ended, then closes both. A direction that reaches EOF half-closes the other side's
// write half, so request/response protocols that signal the end with a FIN still work.
// The tunnel is closed when no byte moved either way for the idle timeout, or when a
// write stalls for that long (a client that stops reading cannot pin the proxy).
func (p *Proxy) tunnel(client, upstream net.Conn) {
	var last atomic.Int64 // unix nanoseconds of the last byte moved, either way
	last.Store(time.Now().UnixNano())
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); upstream.Close() }) }
	defer closeBoth()

	var wg sync.WaitGroup
	wg.Go(func() { // ends when the client's stream ends or fails
		if err := p.copyIdle(upstream, client, &last); err != nil {
			closeBoth()
			return
		}
		closeWrite(upstream)
	})
	if err := p.copyIdle(client, upstream, &last); err != nil {
		closeBoth()
	} else {
		closeWrite(client)
	}
	wg.Wait()
}

// copyIdle copies src to dst until EOF (nil) or an error. A read that times out ends the
// copy only when the whole tunnel has been idle for the idle timeout.
func (p *Proxy) copyIdle(dst, src net.Conn, last *atomic.Int64) error {
	idle := p.limits.IdleTimeout
	buf := make([]byte, 32<<10)
	for {
		src.SetReadDeadline(time.Now().Add(idle))
		n, err := src.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			dst.SetWriteDeadline(time.Now().Add(idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			if time.Since(time.Unix(0, last.Load())) < idle {
				continue // the other direction is busy
			}
			return err
		default:
			return err
		}
	}
}

// closeWrite half-closes c when it supports it (TCP, TLS: close_notify), else closes it.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	c.Close()
}
