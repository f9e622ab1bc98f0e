package localproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// copyBufs holds the tunnels' copy buffers (32 KiB, as io.Copy's): a tunnel takes two
// while it runs and gives them back, so a new connection allocates none.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// tunnel copies bytes both ways between client and upstream until both directions have
// ended, then closes both. A direction that reaches EOF half-closes the other side's
// write half, so request/response protocols that signal the end with a FIN still work.
// The tunnel is closed when no byte moved either way for the idle timeout, or when a
// write stalls for that long (a client that stops reading cannot pin the proxy). One
// timer per tunnel watches both (idleWatch); reads and writes set no deadlines.
func (p *Proxy) tunnel(client, upstream net.Conn) {
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); upstream.Close() }) }
	defer closeBoth()
	w := newIdleWatch(p.limits.IdleTimeout, closeBoth)
	defer w.stop()

	var wg sync.WaitGroup
	wg.Go(func() { // ends when the client's stream ends or fails
		if err := w.copy(0, upstream, client); err != nil {
			closeBoth()
			return
		}
		closeWrite(upstream)
	})
	if err := w.copy(1, client, upstream); err != nil {
		closeBoth()
	} else {
		closeWrite(client)
	}
	wg.Wait()
}

// idleWatch is a tunnel's one timer. The copies record, without a lock, when a byte
// last moved and since when each direction's write has been under way; the timer,
// when it fires, closes the tunnel if either has lasted the idle timeout, and
// otherwise sets itself for the earliest moment one could.
type idleWatch struct {
	idle    time.Duration
	start   time.Time    // the clock's origin: the fields below are durations since it
	last    atomic.Int64 // when a byte last moved, either way
	writing [2]atomic.Int64
	expire  func()

	mu      sync.Mutex // protects timer's re-arming against stop, and stopped
	timer   *time.Timer
	stopped bool
}

func newIdleWatch(idle time.Duration, expire func()) *idleWatch {
	w := &idleWatch{idle: idle, start: time.Now(), expire: expire}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(idle, w.check)
	return w
}

// now is the time since start, on the monotonic clock.
func (w *idleWatch) now() int64 { return int64(time.Since(w.start)) }

// check runs on the timer: it closes the tunnel or sets the timer again.
func (w *idleWatch) check() {
	now := w.now()
	wait := w.idle - time.Duration(now-w.last.Load())
	for i := range w.writing {
		if since := w.writing[i].Load(); since != 0 {
			wait = min(wait, w.idle-time.Duration(now-(since-1)))
		}
	}
	if wait <= 0 {
		w.expire()
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.timer.Reset(wait)
	}
}

// stop ends the watch for good (the timer is not set again).
func (w *idleWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// copy copies src to dst until EOF (nil) or an error, as direction dir (0 or 1).
func (w *idleWatch) copy(dir int, dst, src net.Conn) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			w.writing[dir].Store(w.now() + 1) // +1: 0 means no write under way
			_, werr := dst.Write(buf[:n])
			w.last.Store(w.now())
			w.writing[dir].Store(0)
			if werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
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
