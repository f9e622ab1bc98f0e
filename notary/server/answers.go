package server

import (
	"slices"
	"time"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/notary/store"
)

// The answers built on a view: a v1 body depends on the history and the key alone, so
// it is signed once per history; a v2 answer also carries the question's fingerprint,
// the checks and the status, and per request its nonce and time, so it is prepared once
// per (fingerprint, checks, status) and signed per request.

// jsonContentType is the answers' Content-Type header value, shared (net/http only
// reads it): setting it with Header().Set made a slice per answer.
var jsonContentType = []string{"application/json"}

// maxV2PerView bounds the v2 answers prepared on one view (one per fingerprint asked
// and outcome; a client asking about many fingerprints replaces them in turn).
const maxV2PerView = 8

// v1Signed is a v1 body and the identity that signed it.
type v1Signed struct {
	id   *keys.Identity
	body []byte
}

// v2Entry is a v2 answer prepared on a view.
type v2Entry struct {
	id     *keys.Identity
	target protocol.V2Target
	sha256 string
	checks []protocol.V2Check
	status protocol.Status
	p      *protocol.V2Prepared
}

// v1Body returns the signed v1 body of v's history, signing it on first use (and again
// if the identity changed: a reload); took is how long the signing took, 0 when the
// body was already signed.
func (v *view) v1Body(id *keys.Identity) (body []byte, took time.Duration, err error) {
	if s := v.v1.Load(); s != nil && s.id == id {
		return s.body, 0, nil
	}
	v.v1mu.Lock()
	defer v.v1mu.Unlock()
	if s := v.v1.Load(); s != nil && s.id == id {
		return s.body, 0, nil
	}
	start := time.Now()
	if body, err = protocol.SignV1(v1Entries(v.hist), id.Signer); err != nil {
		return nil, 0, err
	}
	took = max(time.Since(start), time.Nanosecond)
	v.v1.Store(&v1Signed{id: id, body: body})
	return body, took, nil
}

// v2Answer returns the v2 answer for this question's outcome on v, prepared on first use.
func (v *view) v2Answer(id *keys.Identity, target protocol.V2Target, sha256 string, window int64, a Answer) (*protocol.V2Prepared, error) {
	if l := v.v2.Load(); l != nil {
		for _, e := range *l {
			if e.id == id && e.target == target && e.sha256 == sha256 && e.status == a.Status && slices.Equal(e.checks, a.Checks) {
				return e.p, nil
			}
		}
	}
	ans := protocol.V2Answer{Target: target, SHA256: sha256, Window: window, Checks: a.Checks, Status: a.Status,
		Observations: v2Observations(v.hist)}
	p, err := protocol.PrepareV2(ans, id.V2Signer.Public())
	if err != nil {
		return nil, err
	}
	e := &v2Entry{id: id, target: target, sha256: sha256, checks: slices.Clone(a.Checks), status: a.Status, p: p}
	v.v2mu.Lock()
	var l []*v2Entry
	if cur := v.v2.Load(); cur != nil {
		l = *cur
	}
	if len(l) >= maxV2PerView {
		l = l[1:]
	}
	l = append(slices.Clip(l), e) // a new array: readers hold the old one
	v.v2.Store(&l)
	v.v2mu.Unlock()
	return p, nil
}

func v2Observations(hist []store.Observation) []protocol.V2Observation {
	out := make([]protocol.V2Observation, 0, len(hist))
	for _, o := range hist {
		out = append(out, protocol.V2Observation{SHA256: o.SHA256, FirstSeen: o.FirstSeen.Unix(), LastSeen: o.LastSeen.Unix()})
	}
	return out
}
