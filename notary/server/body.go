package server

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// bodyBuf is a pooled buffer a query's body is read into (readBody): one more byte than
// the largest body a notary takes, to tell a body that is too long.
type bodyBuf [protocol.MaxV2RequestSize + 1]byte

// bodyBufs holds the buffers: a busy notary reads tens of thousands of bodies a second,
// and io.ReadAll behind http.MaxBytesReader made three allocations for each.
var bodyBufs = sync.Pool{New: func() any { return new(bodyBuf) }}

// errBodyTooLarge is readBody's error for a body longer than its limit.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads r's body into buf, at most limit bytes (no more than
// protocol.MaxV2RequestSize); a longer body is errBodyTooLarge. The bytes returned are
// buf's: valid until buf goes back to the pool.
func readBody(r *http.Request, buf *bodyBuf, limit int) ([]byte, error) {
	n, err := io.ReadFull(r.Body, buf[:limit+1])
	switch {
	case err == nil:
		return nil, errBodyTooLarge
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return buf[:n], nil
	}
	return nil, err
}
