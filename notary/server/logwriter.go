package server

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// logFlushSize is how much buffered log a Write sends out at once, without waiting
// for the next tick.
const logFlushSize = 32 << 10

// LogWriter gathers log lines for w and writes them out together: every tick of Run,
// when logFlushSize bytes wait, and when Run ends. A notary logs a line per request; one
// write per line was a system call per answer. Lines are kept whole and in order; a
// crash loses at most one tick of them. Safe for concurrent use.
type LogWriter struct {
	mu  sync.Mutex // protects buf and err; held while writing to w, to keep the order
	w   io.Writer
	buf []byte
	err error // the last write error, reported once
}

// NewLogWriter returns a LogWriter for w.
func NewLogWriter(w io.Writer) *LogWriter { return &LogWriter{w: w} }

// Write buffers p (a whole log line: slog handlers write each record at once).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) >= logFlushSize {
		l.flushLocked()
	}
	return len(p), nil
}

// Flush writes out what is buffered and returns the first write error since the last
// Flush.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	err := l.err
	l.err = nil
	return err
}

func (l *LogWriter) flushLocked() {
	if len(l.buf) == 0 {
		return
	}
	if _, err := l.w.Write(l.buf); err != nil && l.err == nil {
		l.err = fmt.Errorf("failed to write log: %w", err)
	}
	if cap(l.buf) > 4*logFlushSize {
		l.buf = nil // do not keep a burst's buffer
	} else {
		l.buf = l.buf[:0]
	}
}

// Run flushes every interval until ctx ends, then once more, and returns.
func (l *LogWriter) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = l.Flush()
			return
		case <-t.C:
			_ = l.Flush()
		}
	}
}
