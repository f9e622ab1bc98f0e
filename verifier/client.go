package verifier

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// DefaultMaxClockSkew is how far a v2 notary's clock may be from ours before its
// answer is invalid: a stale signed "yes" must not be replayable.
const DefaultMaxClockSkew = 5 * time.Minute

// errFallBackToV1 means the host does not serve v2 (404, 405 or 501 on the v2 path).
var errFallBackToV1 = errors.New("notary does not serve protocol v2")

// notaryInfo is a logical notary as the client needs it.
type notaryInfo struct {
	Name      string
	Endpoints []endpoint
}

// client asks notaries about certificates. Safe for concurrent use.
type client struct {
	tr      *transports
	now     func() time.Time
	maxSkew time.Duration
}

// query asks notary n about leaf for t, racing its physical hosts: the first host with
// a usable answer wins and the others are cancelled. It never fails: every problem is
// recorded in the answer as AnswerUnreachable, AnswerInvalid or AnswerUnauthentic. It returns when ctx is
// done at the latest, after every host goroutine has ended.
func (c *client) query(ctx context.Context, n notaryInfo, t Target, leaf *x509.Certificate) NotaryAnswer {
	start := c.now()
	if len(n.Endpoints) == 0 {
		return NotaryAnswer{Notary: n.Name, Kind: AnswerInvalid, Err: "the notary has no hosts"}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan NotaryAnswer, len(n.Endpoints))
	for _, e := range n.Endpoints {
		go func() { results <- c.queryHost(ctx, e, t, leaf) }()
	}
	var best NotaryAnswer
	got := 0
	for ; got < len(n.Endpoints); got++ {
		a := <-results
		if failureRank[a.Kind] == 0 {
			best = a
			got++
			break
		}
		// Keep the most telling failure: an impostor says more than a broken answer,
		// which says more than silence.
		if best.Kind == "" || failureRank[a.Kind] > failureRank[best.Kind] {
			best = a
		}
	}
	cancel()
	for ; got < len(n.Endpoints); got++ {
		<-results // every host goroutine ends once ctx is cancelled
	}
	best.Notary = n.Name
	best.Latency = c.now().Sub(start)
	return best
}

// failureRank orders the answers that are no vote by how much they tell; usable
// answers are not in it.
var failureRank = map[AnswerKind]int{AnswerUnreachable: 1, AnswerInvalid: 2, AnswerUnauthentic: 3}

// queryHost asks one physical host, in v2 when it can and else in v1.
func (c *client) queryHost(ctx context.Context, e endpoint, t Target, leaf *x509.Certificate) NotaryAnswer {
	a := NotaryAnswer{Host: e.addr()}
	if e.V2Key != nil {
		res, err := c.queryV2(ctx, e, t, leaf)
		if !errors.Is(err, errFallBackToV1) {
			res.Host = a.Host
			return res
		}
	}
	res := c.queryV1(ctx, e, t, leaf)
	res.Host = a.Host
	return res
}

// post sends body to the endpoint's path and returns the status and the body, read up
// to limit bytes (more is an error).
func (c *client) post(ctx context.Context, e endpoint, path, contentType string, body []byte, limit int) (int, []byte, error) {
	u := url.URL{Scheme: "https", Host: e.addr(), Path: path}
	if strings.HasPrefix(path, protocol.V1PathPrefix) {
		// v1 paths hold the host and port literally (IPv6 colons, the "+").
		u.Opaque = "//" + e.addr() + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("failed to build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	if path == protocol.V2Path {
		// We verify batch signatures (one signature over many answers' Merkle root),
		// which let a busy notary answer several times faster.
		req.Header.Set(protocol.V2BatchHeader, protocol.V2BatchMerkle)
	}
	resp, err := (&http.Client{Transport: c.tr.get(e), CheckRedirect: noRedirects}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err == nil {
		// A body cut short by the deadline can read as a clean end: a slow drip must
		// not pass for a short answer.
		err = ctx.Err()
	}
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("failed to read answer: %w", err)
	}
	if len(data) > limit {
		return resp.StatusCode, nil, fmt.Errorf("failed to read answer: more than %d bytes: %w", limit, protocol.ErrTooLarge)
	}
	return resp.StatusCode, data, nil
}

// noRedirects stops redirects: a notary answers where it was asked.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// failure classifies a transport or read error: a wrong pin is an unauthentic answer
// (someone else answered for the notary), an oversized body an invalid one, anything
// else is the notary being unreachable.
func failure(err error) NotaryAnswer {
	kind := AnswerUnreachable
	switch {
	case errors.Is(err, errPinMismatch):
		kind = AnswerUnauthentic
	case errors.Is(err, protocol.ErrTooLarge):
		kind = AnswerInvalid
	}
	return NotaryAnswer{Kind: kind, Err: describeErr(err)}
}

// rejectedAnswer classifies an answer that failed the protocol's checks: a signature
// that does not verify, or a signed answer to another question (nonce, target or
// fingerprint), is unauthentic: over the pinned connection only an impostor, or a
// replay, gives one. A malformed answer is invalid: the notary itself is broken.
func rejectedAnswer(err error) NotaryAnswer {
	if errors.Is(err, protocol.ErrBadSignature) || errors.Is(err, protocol.ErrMismatch) {
		return NotaryAnswer{Kind: AnswerUnauthentic, Err: err.Error()}
	}
	return NotaryAnswer{Kind: AnswerInvalid, Err: err.Error()}
}

func invalid(format string, args ...any) NotaryAnswer {
	return NotaryAnswer{Kind: AnswerInvalid, Err: fmt.Sprintf(format, args...)}
}

// httpFailure is the answer for an HTTP status that carries no vote. A busy notary
// (429, 503) is unreachable for now, and the verdict says so.
func httpFailure(status int, body []byte, proto int) NotaryAnswer {
	why := fmt.Sprintf("notary answered HTTP %d: %s", status, excerpt(body))
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		why = fmt.Sprintf("the notary is busy or could not answer now (HTTP %d), so it gave no vote: %s", status, excerpt(body))
	}
	return NotaryAnswer{Kind: AnswerUnreachable, Protocol: proto, Err: why}
}

// queryV2 asks in protocol v2. It returns errFallBackToV1 when the host does not serve it.
func (c *client) queryV2(ctx context.Context, e endpoint, t Target, leaf *x509.Certificate) (NotaryAnswer, error) {
	fp := protocol.SHA256Fingerprint(leaf.Raw)
	req, err := protocol.NewV2Request(t.Host, t.Port, fp)
	if err != nil {
		return invalid("failed to build v2 request: %v", err), nil
	}
	body, err := req.Marshal()
	if err != nil {
		return invalid("%v", err), nil
	}
	status, data, err := c.post(ctx, e, protocol.V2Path, "application/json", body, protocol.MaxV2AnswerSize)
	if err != nil {
		return failure(err), nil
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return NotaryAnswer{}, errFallBackToV1
	case http.StatusForbidden:
		return NotaryAnswer{Kind: AnswerNoOpinion, Protocol: 2, Err: "the notary refused to check this target: " + excerpt(data)}, nil
	default:
		return httpFailure(status, data, 2), nil
	}
	ans, err := protocol.VerifyV2(data, e.V2Key)
	if err != nil {
		return withProto(rejectedAnswer(err), 2), nil
	}
	if err := ans.Answers(req); err != nil {
		return withProto(rejectedAnswer(err), 2), nil
	}
	skew := c.now().Sub(time.Unix(ans.Time, 0))
	if skew > c.maxSkew || -skew > c.maxSkew {
		return withProto(invalid("the notary's clock is %s off ours (limit %s)", skew.Round(time.Second), c.maxSkew), 2), nil
	}
	if got := protocol.OverallStatus(ans.Checks, true); got != ans.Status {
		return withProto(invalid("the notary's status %q does not follow from its checks (%q)", ans.Status, got), 2), nil
	}
	a := NotaryAnswer{Protocol: 2}
	sha1 := protocol.SHA1Fingerprint(leaf.Raw)
	for _, o := range ans.Observations {
		s := Sighting{FingerprintSHA256: o.SHA256, FirstSeen: time.Unix(o.FirstSeen, 0), LastSeen: time.Unix(o.LastSeen, 0)}
		if o.SHA256 == fp {
			s.FingerprintSHA1 = sha1
		}
		a.see(s, o.SHA256 == fp)
	}
	switch ans.Status {
	case protocol.StatusConfirmed:
		a.Kind = AnswerAgree
	case protocol.StatusMismatch:
		a.Kind = AnswerDisagree
		a.AgreedSince = time.Time{}
	default: // unreachable, inconclusive
		a.Kind = AnswerNoOpinion
		a.AgreedSince = time.Time{}
		a.Err = "the notary could not decide: " + string(ans.Status)
	}
	return a, nil
}

// queryV1 asks in the original protocol and checks the signature with the pinned
// certificate's key.
func (c *client) queryV1(ctx context.Context, e endpoint, t Target, leaf *x509.Certificate) NotaryAnswer {
	fp := protocol.SHA1Fingerprint(leaf.Raw)
	form := url.Values{"fingerprint": {fp}}.Encode()
	status, data, err := c.post(ctx, e, protocol.V1Path(t.Host, t.Port), "application/x-www-form-urlencoded", []byte(form), protocol.MaxV1AnswerSize)
	if err != nil {
		return withProto(failure(err), 1)
	}
	switch status {
	case http.StatusOK, http.StatusConflict:
	case http.StatusSeeOther, http.StatusForbidden:
		return NotaryAnswer{Kind: AnswerNoOpinion, Protocol: 1, Err: fmt.Sprintf("the notary could not decide (HTTP %d): %s", status, excerpt(data))}
	default:
		return httpFailure(status, data, 1)
	}
	ans, err := protocol.VerifyV1(data, e.Pinned.PublicKey)
	if err != nil {
		return withProto(rejectedAnswer(err), 1)
	}
	a := NotaryAnswer{Protocol: 1}
	sha256 := protocol.SHA256Fingerprint(leaf.Raw)
	for _, en := range ans.Fingerprints {
		s := Sighting{FingerprintSHA1: en.Fingerprint, FirstSeen: time.Unix(en.Start, 0), LastSeen: time.Unix(en.Finish, 0)}
		if en.Fingerprint == fp {
			s.FingerprintSHA256 = sha256
		}
		a.see(s, en.Fingerprint == fp)
	}
	if status == http.StatusConflict {
		a.Kind, a.AgreedSince = AnswerDisagree, time.Time{}
		return a
	}
	if a.AgreedSince.IsZero() {
		// A signed "yes" that does not list the certificate asked about is no yes: an
		// answer to another question, replayed.
		return NotaryAnswer{Kind: AnswerUnauthentic, Protocol: 1, Err: fmt.Sprintf("the notary said yes but its signed list lacks %q", fp)}
	}
	a.Kind = AnswerAgree
	return a
}

func withProto(a NotaryAnswer, p int) NotaryAnswer {
	a.Protocol = p
	return a
}

// excerpt returns the start of an error body, for messages.
func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// see records one sighting in the answer; a sighting of the certificate asked about
// (same) also moves AgreedSince back to its first sight.
func (a *NotaryAnswer) see(s Sighting, same bool) {
	if same && (a.AgreedSince.IsZero() || s.FirstSeen.Before(a.AgreedSince)) {
		a.AgreedSince = s.FirstSeen
	}
	a.Seen = append(a.Seen, s)
}
