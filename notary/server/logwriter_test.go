package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type failWriter struct{ calls int }

func (f *failWriter) Write(p []byte) (int, error) { f.calls++; return 0, errors.New("disk full") }

// Lines wait in the buffer until a flush (a tick, the size bound, or Run's end) and
// leave whole and in order; a write error is reported once by Flush.
func TestLogWriter(t *testing.T) {
	var out lockedBuffer
	w := NewLogWriter(&out)
	_, _ = w.Write([]byte("one\n"))
	_, _ = w.Write([]byte("two\n"))
	if out.String() != "" {
		t.Fatalf("written before a flush: %q", out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, time.Hour) }()
	cancel()
	<-done
	if out.String() != "one\ntwo\n" {
		t.Fatalf("after Run ended: %q", out.String())
	}
	big := strings.Repeat("x", logFlushSize) + "\n"
	_, _ = w.Write([]byte(big))
	if out.Len() != len("one\ntwo\n")+len(big) {
		t.Fatalf("a full buffer was not written at once (%d bytes out)", out.Len())
	}
	f := &failWriter{}
	fw := NewLogWriter(f)
	_, _ = fw.Write([]byte("lost\n"))
	if err := fw.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("flush error: %v", err)
	}
	if err := fw.Flush(); err != nil || f.calls != 1 {
		t.Fatalf("second flush: %v, %d writes", err, f.calls)
	}
}
