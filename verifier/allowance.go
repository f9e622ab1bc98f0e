package verifier

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// MaxAllowFor bounds how long a destination may be let through unchecked: an
// allowance is a way out of an outage or a captive portal's sign-in page, never a
// setting (pins and the private-address exemption are the lasting ways).
const MaxAllowFor = time.Hour

// maxAllowances bounds how many allowances are kept at once; the oldest is dropped.
const maxAllowances = 64

// ErrAllowance is matched by the errors Allow returns for a request it refuses.
var ErrAllowance = errors.New("invalid allowance")

// Allowance is a destination tunnelled untouched, unchecked, until a time: the user
// allowed it from the block page, or it is the sign-in page of a captive portal.
// Allowances live in the running app's memory only and end by themselves.
type Allowance struct {
	Host  string    // normalised name or address
	Port  int       // 0 means every port of Host
	Until time.Time // it ends then
	Why   string    // one line in plain words, e.g. "captive portal sign-in page"
}

// String names the destination, host or host:port.
func (a Allowance) String() string {
	if a.Port == 0 {
		return a.Host
	}
	return Target{Host: a.Host, Port: a.Port}.String()
}

// allowances is the set of current allowances. Safe for concurrent use.
type allowances struct {
	mu sync.Mutex // protects m
	m  map[string]Allowance
}

func allowKey(host string, port int) string { return fmt.Sprintf("%s|%d", host, port) }

// Allow lets host:port (port 0: every port) through unchecked for d (at most
// MaxAllowFor), replacing an allowance for the same destination, and returns it.
func (v *Verifier) Allow(host string, port int, d time.Duration, why string) (Allowance, error) {
	h, err := protocol.NormalizeHost(host)
	if err != nil {
		return Allowance{}, fmt.Errorf("failed to allow %q: %w: %w", host, ErrAllowance, err)
	}
	if port < 0 || port > 65535 {
		return Allowance{}, fmt.Errorf("failed to allow %q: %w: port %d out of range", host, ErrAllowance, port)
	}
	if d <= 0 || d > MaxAllowFor {
		return Allowance{}, fmt.Errorf("failed to allow %q: %w: duration %s (want more than 0, at most %s)", host, ErrAllowance, d, MaxAllowFor)
	}
	a := Allowance{Host: h, Port: port, Until: v.now().Add(d), Why: why}
	al := &v.allowed
	al.mu.Lock()
	defer al.mu.Unlock()
	if al.m == nil {
		al.m = map[string]Allowance{}
	}
	al.expire(v.now())
	if _, ok := al.m[allowKey(h, port)]; !ok && len(al.m) >= maxAllowances {
		oldest := ""
		for k, e := range al.m {
			if oldest == "" || e.Until.Before(al.m[oldest].Until) {
				oldest = k
			}
		}
		delete(al.m, oldest)
	}
	al.m[allowKey(h, port)] = a
	return a, nil
}

// Disallow ends the allowance for host:port (port 0: the host's every-port one) and
// reports whether there was one.
func (v *Verifier) Disallow(host string, port int) bool {
	h, err := protocol.NormalizeHost(host)
	if err != nil {
		return false
	}
	al := &v.allowed
	al.mu.Lock()
	defer al.mu.Unlock()
	k := allowKey(h, port)
	_, ok := al.m[k]
	delete(al.m, k)
	return ok
}

// Allowances returns the allowances that have not ended, soonest to end first.
func (v *Verifier) Allowances() []Allowance {
	al := &v.allowed
	al.mu.Lock()
	al.expire(v.now())
	out := make([]Allowance, 0, len(al.m))
	for _, a := range al.m {
		out = append(out, a)
	}
	al.mu.Unlock()
	slices.SortFunc(out, func(a, b Allowance) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return strings.Compare(a.String(), b.String())
	})
	return out
}

// allows reports whether t (t.Host normalised) is allowed at now.
func (al *allowances) allows(t Target, now time.Time) bool {
	al.mu.Lock()
	defer al.mu.Unlock()
	for _, k := range []string{allowKey(t.Host, t.Port), allowKey(t.Host, 0)} {
		if a, ok := al.m[k]; ok && now.Before(a.Until) {
			return true
		}
	}
	return false
}

// expire drops the allowances that ended by now. al.mu must be held.
func (al *allowances) expire(now time.Time) {
	for k, a := range al.m {
		if !now.Before(a.Until) {
			delete(al.m, k)
		}
	}
}
